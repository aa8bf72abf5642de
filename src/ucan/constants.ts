/** Defaults and wire constants of the UCAN layer, in one place. */

/** The UCAN version written by this library. */
export const UCAN_VERSION = '1.0.0'

/** Envelope tag written for delegations. */
export const DELEGATION_TAG = 'ucan/dlg@1.0.0'
/** Envelope tag written for invocations. */
export const INVOCATION_TAG = 'ucan/inv@1.0.0'
/** Envelope tags accepted on read for delegations (current first). */
export const DELEGATION_TAGS: readonly string[] = [DELEGATION_TAG, 'ucan/dlg@1.0.0-rc.1']
/** Envelope tags accepted on read for invocations (current first). */
export const INVOCATION_TAGS: readonly string[] = [INVOCATION_TAG, 'ucan/inv@1.0.0-rc.1']

/** Multicodec of DAG-CBOR, the codec of every token CID. */
export const DAG_CBOR_CODE = 0x71
/** Multicodec of sha2-256, the hash of every token CID. */
export const SHA2_256_CODE = 0x12

/**
 * Tolerated clock difference between issuer and validator, in seconds, applied to `exp` and `nbf`.
 * The delegation spec recommends a buffer of ±60 seconds.
 * @default 60
 */
export const CLOCK_SKEW_SECONDS = 60

/** Largest token accepted by {@link decode}, in bytes. @default 65536 */
export const MAX_TOKEN_BYTES = 64 * 1024

/** Deepest nesting of a policy (statements and selectors). @default 32 */
export const MAX_POLICY_DEPTH = 32

/** Deepest nesting walked when comparing or selecting IPLD values. @default 64 */
export const MAX_VALUE_DEPTH = 64

/**
 * Work budget of one policy evaluation (statement evaluations plus values visited by deep
 * equality). A policy that needs more is denied, so huge arguments cost bounded time.
 * @default 100000
 */
export const MAX_POLICY_WORK = 100_000

/** Longest delegation chain accepted by {@link validate}. @default 32 */
export const MAX_CHAIN_LENGTH = 32

/** Entries kept by the default {@link UcanCache}. @default 4096 */
export const CACHE_SIZE = 4096

/** Largest container accepted by {@link decodeContainer} after decompression, in bytes. @default 1048576 */
export const MAX_CONTAINER_BYTES = 1024 * 1024

/** Length of the random nonce put into new tokens, in bytes (spec: 12 is sufficient). @default 12 */
export const NONCE_BYTES = 12

/** Timestamps outside ±(2^53 − 1) must be rejected (delegation spec, time bounds). */
export const MAX_TIMESTAMP = Number.MAX_SAFE_INTEGER

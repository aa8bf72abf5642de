/** The name directory protocol id. */
export const DIRECTORY_PROTOCOL = '/agentmesh/dir/1'

/** The directory message format version carried in every message (`v`). */
export const DIRECTORY_VERSION = 1

/** Largest directory message accepted, in bytes. */
export const MAX_DIRECTORY_MESSAGE_BYTES = 64 * 1024

/** Lifetime of a registration when the agent asks for none: 5 minutes. */
export const DEFAULT_RECORD_TTL_MS = 5 * 60 * 1000

/** Longest registration lifetime a relay grants: 1 hour. */
export const MAX_RECORD_TTL_MS = 60 * 60 * 1000

/** Time a directory exchange may take, in ms. */
export const DIRECTORY_TIMEOUT_MS = 5_000

/** Fewest and most labels in a name. */
export const MIN_NAME_LABELS = 2
export const MAX_NAME_LABELS = 8

/** Longest label of a name. */
export const MAX_LABEL_LENGTH = 63

/** Most addresses in one registration. */
export const MAX_RECORD_ADDRS = 16

/** Directory streams one connection may have open at once on a relay. */
export const MAX_DIRECTORY_STREAMS = 64

/** The UCAN command of naming rights and name records. */
export const NAME_COMMAND = '/agentmesh/name'

/** Names listed at most in one `list` answer. */
export const MAX_LIST_RESULTS = 1000

/** Registrations one peer may make per minute on a relay (a token bucket of this size, refilled per minute). */
export const REGISTRATIONS_PER_MINUTE = 60

/** Watch streams one connection may hold on a relay. */
export const MAX_WATCHES_PER_CONNECTION = 8

/** Delegations one name record may carry. */
export const MAX_RECORD_PROOFS = 8

/**
 * Longest time a relay admits a peer on one proof of its naming right before asking again, in ms
 * (shorter when the record or the right ends first). Revocation is checked on every admission.
 */
export const ADMISSION_TTL_MS = 5 * 60 * 1000

/** Peers a relay remembers as admitted, and refusals it keeps for operators, at most (oldest go first). */
export const MAX_ADMISSION_ENTRIES = 10_000

/** The admission protocol: a relay asks a peer that wants a reservation for its naming right. */
export const ADMISSION_PROTOCOL = '/agentmesh/admit/1'

/**
 * The DHT key namespace of name records: kad-dht picks the validator and selector of a key by the
 * label between its first two slashes.
 *
 * @example
 * ```ts
 * kadDHT({ validators: { [DHT_NAMESPACE]: validate }, selectors: { [DHT_NAMESPACE]: select } })
 * ```
 */
export const DHT_NAMESPACE = 'agentmesh'

/**
 * The private Kademlia protocol id of agentmesh nodes, so that the agentmesh DHT never merges with
 * the public IPFS DHT (`/ipfs/kad/1.0.0`).
 *
 * @example
 * ```ts
 * agentmeshDht({ trust, protocol: DHT_PROTOCOL })
 * ```
 */
export const DHT_PROTOCOL = '/agentmesh/kad/1.0.0'

/**
 * Largest encoded name record accepted from or put into the DHT, in bytes (a record holds at most
 * 16 addresses and 8 delegations: a few KiB).
 *
 * @example
 * ```ts
 * if (value.length > MAX_DHT_RECORD_BYTES) throw new Error('too large')
 * ```
 */
export const MAX_DHT_RECORD_BYTES = 16 * 1024

/**
 * Time one DHT resolve may take, in ms, unless the caller's signal says otherwise.
 *
 * @example
 * ```ts
 * await resolveNameFromDht(dht, name, { trust, timeoutMs: DHT_RESOLVE_TIMEOUT_MS })
 * ```
 */
export const DHT_RESOLVE_TIMEOUT_MS = 10_000

/**
 * Time one DHT publish may take, in ms, unless the caller's signal says otherwise.
 *
 * @example
 * ```ts
 * await publishNameRecord(dht, signed, { timeoutMs: DHT_PUBLISH_TIMEOUT_MS })
 * ```
 */
export const DHT_PUBLISH_TIMEOUT_MS = 30_000

/**
 * Names whose newest `seq` a validator remembers, to refuse a replayed older (still unexpired)
 * record. js kad-dht stores any valid record a peer puts, without comparing it with the one it
 * holds (go-libp2p does compare), so the validator keeps this high-water mark itself.
 *
 * @example
 * ```ts
 * nameRecordValidator(trust, { rememberNames: MAX_DHT_REMEMBERED_NAMES })
 * ```
 */
export const MAX_DHT_REMEMBERED_NAMES = 10_000

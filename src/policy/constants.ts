/**
 * Delegations one connection may present and the agent keeps for later calls on it. Only the tokens
 * of calls whose chain validated (rooted in a trusted authority, delegated to the caller) are kept.
 */
export const MAX_PROOFS_PER_CONNECTION = 256

/**
 * Bytes of delegations the agent keeps for one connection: 1 MiB, 256 tokens of 4 KiB (a delegation
 * with a modest policy is a few hundred bytes).
 */
export const MAX_PROOF_BYTES_PER_CONNECTION = 1024 * 1024

/** Delegations one call may carry. */
export const MAX_PROOFS_PER_CALL = 32

/** Signed invocations remembered against replay (until each one's expiry). */
export const MAX_REPLAY_ENTRIES = 100_000

/** Lifetime given to a signed invocation when the caller sets none, in seconds. */
export const SIGNED_INVOCATION_TTL_SECONDS = 60

/** Validated chains remembered per connection, so a caller's repeated chain is not looked up again. */
export const CHAINS_PER_CONNECTION = 8

/** Grants an agent keeps per connection for reuse, one per intent called (the oldest is dropped first). */
export const GRANTS_PER_CONNECTION = 64

/** Delegations one connection may present and the agent keeps for later calls on it. */
export const MAX_PROOFS_PER_CONNECTION = 256

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

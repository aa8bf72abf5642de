/** Reservations the relay keeper holds when it is given two relays or more. */
export const DEFAULT_RESERVATIONS_MULTI = 2

/** First wait before retrying a relay that dropped or refused, in ms. */
export const RECONNECT_INITIAL_BACKOFF_MS = 250

/** Longest wait between two attempts on one relay, in ms. */
export const RECONNECT_MAX_BACKOFF_MS = 30_000

/** Factor by which the wait grows after each failed attempt. */
export const RECONNECT_BACKOFF_MULTIPLIER = 2

/** Share of each wait that is randomised (0.2 = ±20 %), so agents do not stampede a restarted relay. */
export const RECONNECT_JITTER = 0.2

/** Time one attempt (dial, reservation, listener) may take, in ms. */
export const RESERVATION_ATTEMPT_TIMEOUT_MS = 10_000

/**
 * How long before a reservation expires the keeper renews it, in ms; a reservation shorter than
 * twice this margin is renewed at half its remaining life.
 */
export const RESERVATION_RENEW_MARGIN_MS = 60_000

/** Shortest wait before a renewal, in ms, so a relay granting tiny reservations is not hammered. */
export const MIN_RENEW_DELAY_MS = 1_000

/**
 * Longest reservation the keeper believes a relay grants, in ms: 24 hours (libp2p relays grant 2
 * hours by default). A relay that answers with a later expiry is lying or misconfigured; the keeper
 * takes the reservation to end this long after it was granted, renews it before then, and when the
 * relay still claims the old expiry at that point, drops the connection to it and reserves anew.
 */
export const MAX_RESERVATION_TTL_MS = 24 * 60 * 60 * 1000

/** Longest delay a Node.js timer can wait (2^31-1 ms); a longer one fires after 1 ms instead. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1

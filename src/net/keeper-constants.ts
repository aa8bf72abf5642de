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

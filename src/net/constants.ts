/** Reservations a relay holds at once by default (libp2p's own default is 15). */
export const MAX_RESERVATIONS = 10_000

/** Connections a relay accepts by default: every reserved agent plus callers. */
export const RELAY_MAX_CONNECTIONS = 20_000

/** How long an agent waits for a relay to grant a reservation, in ms. */
export const RESERVATION_TIMEOUT_MS = 10_000

/** Default listen addresses of a relay: loopback WebSockets and TCP on free ports. */
export const DEFAULT_RELAY_LISTEN = ['/ip4/127.0.0.1/tcp/0/ws', '/ip4/127.0.0.1/tcp/0']

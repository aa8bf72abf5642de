/** Reservations a relay holds at once by default (libp2p's own default is 15). */
export const MAX_RESERVATIONS = 10_000

/** Connections a relay accepts by default: every reserved agent plus callers. */
export const RELAY_MAX_CONNECTIONS = 20_000

/** How long an agent waits for a relay to grant a reservation, in ms. */
export const RESERVATION_TIMEOUT_MS = 10_000

/** Default listen addresses of a relay: loopback WebSockets and TCP on free ports. */
export const DEFAULT_RELAY_LISTEN = ['/ip4/127.0.0.1/tcp/0/ws', '/ip4/127.0.0.1/tcp/0']

/**
 * Inbound connections a relay accepts per second from one IP address. libp2p's default of 5 is too
 * low for a relay: every agent of a cluster behind one NAT shares that cluster's address.
 */
export const RELAY_INBOUND_PER_IP_PER_SECOND = 200

/** Inbound connections a relay upgrades (noise + yamux handshakes) at once. */
export const RELAY_MAX_PENDING_INBOUND = 512

/**
 * Inbound connections an agent accepts per second from one IP address. Every relayed connection
 * appears to come from its relay's address, so libp2p's default of 5 would turn callers away.
 */
export const AGENT_INBOUND_PER_IP_PER_SECOND = 500

/** Inbound connections an agent upgrades (noise + yamux handshakes) at once. */
export const AGENT_MAX_PENDING_INBOUND = 256

/**
 * Streams a peer may open on a new connection before this side has finished upgrading it. yamux's
 * default of 10 aborts the whole connection when a caller starts many calls at once on a fresh
 * connection (the dialer is ready a moment before the listener).
 */
export const MAX_EARLY_STREAMS = 1024

/** Reservations an agent requests at once: one per relay, so that no relay waits behind another. */
export const RESERVATION_CONCURRENCY = 8

/**
 * How often an agent pings each of its connections (libp2p's connection monitor; libp2p's default
 * is 10 s). Each ping opens a stream on the relay: with thousands of agents on one relay, 10 s pings
 * alone kept a relay core busy. yamux's own keep-alive (every 30 s) keeps NAT mappings open.
 */
export const AGENT_PING_INTERVAL_MS = 60_000

/**
 * How long after a connection opens libp2p's identify runs on it, in ms. Identify off the cold-call
 * path: a first call through a relay is done in about 20 ms on loopback.
 */
export const IDENTIFY_DELAY_MS = 100

/**
 * A relayed connection DCUtR replaced is closed once it has carried no call for this long, in ms:
 * long enough for a request already on its way over it to land, on a distant relay too (the peer
 * moves its new calls to the direct connection only once it sees that open). Keeping an idle
 * circuit two seconds longer costs the relay little.
 */
export const DRAIN_QUIET_MS = 2_000

/** A relayed connection waiting to close must also be found quiet this many checks in a row. */
export const DRAIN_QUIET_CHECKS = 3

/** How often a relayed connection waiting to close is checked for calls in flight, in ms. */
export const DRAIN_POLL_MS = 100

/** The multistream-select protocol id, the first line each side of a new stream sends. */
export const MULTISTREAM_PROTOCOL_ID = '/multistream/1.0.0'

/** Outbound streams of one protocol a connection holds at once unless told otherwise (libp2p's default). */
export const DEFAULT_MAX_OUTBOUND_STREAMS = 64

/** How long an early stream waits for the answer to its protocol proposal (libp2p's own negotiation timeout). */
export const PROTOCOL_ANSWER_TIMEOUT_MS = 10_000

/**
 * The largest yamux receive window of every stream of a relay, agent or caller, in bytes (yamux's
 * default is 16 MiB). A paused stream may still be sent what is left of the window it granted, so the
 * window must not exceed libp2p's read buffer limit (4 MiB): with more, a relay pausing a circuit while
 * the other side is full, an agent pausing a caller that does not read its answers, or a caller pausing
 * a stream it reads slowly would overflow its own read buffer and reset the stream instead of holding
 * the sender back. A relay thus holds at most 4 MiB per circuit direction.
 */
export const STREAM_WINDOW_BYTES = 4 * 1024 * 1024

/**
 * Lists of chunks up to this many bytes go to a transport connection as one buffer (one write):
 * handshake messages and protocol answers. Larger lists keep their chunks, to avoid copying them.
 */
export const JOIN_WRITES_MAX_BYTES = 16 * 1024

/**
 * How long after a connection opens its yamux sends the first keep-alive ping (which also measures
 * the round trip time), in ms: off the path of a cold call, as identify is.
 */
export const FIRST_PING_DELAY_MS = 100

/** Interval of yamux keep-alive pings once the first has gone (`@chainsafe/libp2p-yamux`'s default). */
export const YAMUX_KEEP_ALIVE_INTERVAL_MS = 30_000

/**
 * Bytes a new inbound stream or connection gathers from its first turn of the event loop into one
 * message at most (the protocol answer and a first reply); past this, writes go at once.
 */
export const FIRST_TURN_MAX_BYTES = 64 * 1024

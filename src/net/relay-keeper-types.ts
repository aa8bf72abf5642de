/** The public types of the relay keeper: its options, its events and what it needs from a node. */
import type { AbortOptions, ComponentLogger, Connection, Listener, PeerId, Transport } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Options of `relayKeeper`. */
export interface RelayKeeperInit {
  /** Relay multiaddrs, each ending in `/p2p/<relay-id>`, in order of preference. */
  relays: string[]
  /**
   * How many relays to hold a reservation on at once.
   *
   * @default 2 when given two relays or more, else 1
   */
  reservations?: number
  /**
   * First wait before retrying a relay, in ms.
   *
   * @default 250
   */
  initialBackoffMs?: number
  /**
   * Longest wait between attempts on one relay, in ms.
   *
   * @default 30000 (30 s)
   */
  maxBackoffMs?: number
  /**
   * Growth of the wait after each failed attempt.
   *
   * @default 2
   */
  backoffMultiplier?: number
  /**
   * Randomised share of each wait, between 0 and 1.
   *
   * @default 0.2
   */
  jitter?: number
  /**
   * Time one attempt on a relay may take, in ms.
   *
   * @default 10000 (10 s)
   */
  attemptTimeoutMs?: number
  /**
   * How long before expiry a reservation is renewed, in ms.
   *
   * @default 60000 (1 min)
   */
  renewMarginMs?: number
  /**
   * Longest reservation a relay is believed to grant, in ms: an expiry further away is taken to be
   * this far away, and the keeper reserves anew when the relay still claims it then.
   *
   * @default 86400000 (24 h)
   */
  maxReservationTtlMs?: number
  /**
   * Called after each new reservation (first one, or after the relay dropped or restarted), once the
   * circuit address is advertised: the place to (re-)register the agent's name on that relay.
   *
   * @default none
   */
  onReservation?(relayAddr: string, options: AbortOptions): Promise<void> | void
}

/** What the keeper's events carry. */
export interface RelayStatus {
  /** The relay's multiaddr, as configured. */
  relay: string
  /** The relay's PeerId. */
  peer: string
  /** When the reservation expires, in ms since the epoch (absent once disconnected). */
  expires?: number
}

/** Events of a {@link RelayKeeper}. */
export interface RelayKeeperEvents {
  /** A reservation was granted on a relay that had none. */
  'relay:connected': CustomEvent<RelayStatus>
  /** The reservation (or the connection carrying it) on a relay was lost. */
  'relay:disconnected': CustomEvent<RelayStatus>
  /** A held reservation was renewed. */
  'reservation:renewed': CustomEvent<RelayStatus>
}

/** The libp2p internals the keeper uses (a subset of a node's components). */
export interface RelayKeeperComponents {
  connectionManager: {
    openConnection(peer: Multiaddr, options?: AbortOptions): Promise<Connection>
    closeConnections(peer: PeerId, options?: AbortOptions): Promise<void>
  }
  transportManager: { listen(addrs: Multiaddr[]): Promise<void>; getTransports(): Transport[]; getListeners(): Listener[] }
  logger: ComponentLogger
}

import { circuitRelayServer, circuitRelayTransport, RELAY_V2_HOP_CODEC, RELAY_V2_STOP_CODEC } from '@libp2p/circuit-relay-v2'
import type { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p, type Libp2p, type Libp2pOptions } from 'libp2p'
import {
  AGENT_INBOUND_PER_IP_PER_SECOND,
  AGENT_MAX_PENDING_INBOUND,
  AGENT_PING_INTERVAL_MS,
  MAX_EARLY_STREAMS,
  MAX_RESERVATIONS,
  RELAY_INBOUND_PER_IP_PER_SECOND,
  RELAY_MAX_CONNECTIONS,
  RELAY_MAX_PENDING_INBOUND,
  STREAM_WINDOW_BYTES,
  RESERVATION_CONCURRENCY,
  RESERVATION_TIMEOUT_MS
} from './constants.ts'
import type { Connection, PeerId, PrivateKey } from '@libp2p/interface'
import { fixConnectionListing } from './connection-listing.ts'
import { deferredIdentify } from './deferred-identify.ts'
import { drainingDcutr } from './draining-dcutr.ts'
import { encryptOutboundEarly } from './early-encryption.ts'
import { openEarly } from './early-select.ts'
import { recordPeersLater } from './peer-store-later.ts'
import { joinTransportWrites } from './joined-writes.ts'
import { quietLogger } from './quiet-logger.ts'
import { spliceRelayedCircuits } from './relay-circuits.ts'
import { tunedNoise } from './tuned-noise.ts'
import { fixReservationRefresh } from './reservation-refresh.ts'
import { relayKeeper } from './relay-keeper.ts'
import type { RelayKeeperInit } from './relay-keeper-types.ts'
import { sendDirectWhenIdle } from './direct-send.ts'
import { gatherFirstTurnOfInboundStreams } from './first-turn.ts'
import { skipUnheardStreamEvents } from './unheard-events.ts'
import { yamuxPingingLater } from './yamux-ping.ts'
import { tuneYamuxWindowUpdates } from './yamux-window.ts'

tuneYamuxWindowUpdates()
skipUnheardStreamEvents()
sendDirectWhenIdle()
gatherFirstTurnOfInboundStreams()

/**
 * Limits a relay applies to the circuits it carries. Unset means unlimited: agentmesh circuits
 * carry RPC for as long as both ends want, not libp2p's default 2 minutes / 128 KiB that is sized
 * for hole punching. Each limit is a positive value, the durations whole ms up to 2^31 - 1
 * (`createRelay` refuses others with `INVALID_ARGUMENT`); leave one out for none.
 */
export interface RelayLimits {
  /**
   * Reservations held at once.
   *
   * @default 10000
   */
  maxReservations?: number
  /** Longest life of one relayed connection, in ms. @default unlimited */
  durationMs?: number
  /** Most bytes one relayed connection carries, both directions together. @default unlimited */
  dataBytes?: bigint
  /** Lifetime of a reservation before its agent must renew it, in ms. @default 2 hours (libp2p's) */
  reservationTtlMs?: number
}

/** Options of the libp2p node behind a relay. */
export interface RelayNodeOptions {
  privateKey?: PrivateKey
  listen: string[]
  limits?: RelayLimits
  /** Decides who may reserve a circuit slot; `true` refuses. @default everyone */
  denyReservation?: (peer: PeerId) => Promise<boolean>
  /** The transports to listen and dial with. @default WebSockets and TCP */
  transports?: Libp2pOptions['transports']
}

/** Options of the libp2p node behind an agent. */
export interface AgentNodeOptions {
  privateKey?: PrivateKey
  /** Relay multiaddrs (with `/p2p/<relay-id>`) to hold reservations on; empty for a caller only. */
  relays: string[]
  /** Relay keeper tuning and its `onReservation` hook. */
  keeper?: Omit<RelayKeeperInit, 'relays'>
  /**
   * Run DCUtR (`/libp2p/dcutr`): when a peer reaches this node through a relay and one side has a
   * public, dialable address, the relayed connection is upgraded to a direct one and the relay leaves
   * the data path. Both sides must run it.
   *
   * @default true
   */
  directUpgrade?: boolean
  /**
   * Calls in flight on a connection, both ways. A relayed connection DCUtR replaced is closed once
   * this has counted none on it for 2 s, so that the calls running on it finish there.
   *
   * @default none counted: the relayed connection closes 2 s after the upgrade
   */
  callsOn?: (connection: Connection) => number
  /**
   * Extra libp2p options merged over the defaults. `transports`, when given, replaces WebSockets and
   * TCP (the circuit relay transport is always added).
   */
  libp2p?: Partial<Libp2pOptions>
}

/** The services every agentmesh node runs. */
export type MeshServices = { identify: ReturnType<ReturnType<typeof identify>> }

/**
 * Relays come from the agent's configuration only, never from whoever speaks the hop protocol. This
 * filter makes libp2p's relay discovery ignore every peer. Without it, identify of a configured relay
 * made the transport ask that relay again for a "discovered" reservation, and the failure of that
 * second request dropped the configured one (libp2p circuit-relay-v2 4.2).
 */
const NO_RELAY_DISCOVERY = { has: (): boolean => true, add: (): void => {}, remove: (): void => {} }

/** Build and start the libp2p node of a relay: the only role that listens. */
export async function createRelayNode(options: RelayNodeOptions): Promise<Libp2p> {
  const limits = options.limits ?? {}
  const limited = limits.durationMs !== undefined || limits.dataBytes !== undefined
  const node = await createLibp2p({
    ...(options.privateKey === undefined ? {} : { privateKey: options.privateKey }),
    logger: quietLogger(),
    addresses: { listen: options.listen },
    ...(options.denyReservation === undefined
      ? {}
      : { connectionGater: { denyInboundRelayReservation: options.denyReservation } }),
    transports: options.transports ?? [webSockets(), tcp()],
    connectionEncrypters: [tunedNoise()],
    streamMuxers: [yamuxPingingLater({ maxEarlyStreams: MAX_EARLY_STREAMS, streamOptions: { maxStreamWindowSize: STREAM_WINDOW_BYTES } })],
    // the relay does not ping its thousands of agents: they ping it, and notice when it goes away
    connectionMonitor: { enabled: false },
    connectionManager: {
      maxConnections: RELAY_MAX_CONNECTIONS,
      inboundConnectionThreshold: RELAY_INBOUND_PER_IP_PER_SECOND,
      maxIncomingPendingConnections: RELAY_MAX_PENDING_INBOUND
    },
    services: {
      identify: deferredIdentify(),
      relay: circuitRelayServer({
        reservations: {
          maxReservations: limits.maxReservations ?? MAX_RESERVATIONS,
          applyDefaultLimit: limited,
          ...(limits.durationMs === undefined ? {} : { defaultDurationLimit: limits.durationMs }),
          ...(limits.dataBytes === undefined ? {} : { defaultDataLimit: limits.dataBytes }),
          ...(limits.reservationTtlMs === undefined ? {} : { reservationTtl: limits.reservationTtlMs })
        }
      })
    }
  })
  fixReservationRefresh(node)
  joinTransportWrites(node)
  recordPeersLater(node)
  fixConnectionListing(node)
  spliceRelayedCircuits(node)
  // the stop stream to the agent carries its CONNECT with the proposal: no round trip before it
  openEarly(node, [RELAY_V2_STOP_CODEC])
  return node
}

/**
 * Build and start the libp2p node of an edge agent or orchestrator. It opens no listening socket:
 * its only "listen" addresses are circuit reservations on its relays.
 */
export async function createAgentNode(options: AgentNodeOptions): Promise<Libp2p> {
  const extra = options.libp2p ?? {}
  const node = await createLibp2p({
    ...(options.privateKey === undefined ? {} : { privateKey: options.privateKey }),
    // libp2p.logger in the options replaces it
    logger: quietLogger(),
    connectionEncrypters: [tunedNoise()],
    streamMuxers: [yamuxPingingLater({ maxEarlyStreams: MAX_EARLY_STREAMS, streamOptions: { maxStreamWindowSize: STREAM_WINDOW_BYTES } })],
    connectionMonitor: { pingInterval: AGENT_PING_INTERVAL_MS, ...extra.connectionMonitor },
    connectionManager: {
      inboundConnectionThreshold: AGENT_INBOUND_PER_IP_PER_SECOND,
      maxIncomingPendingConnections: AGENT_MAX_PENDING_INBOUND,
      ...extra.connectionManager
    },
    ...extra,
    transports: [
      ...(extra.transports ?? [webSockets(), tcp()]),
      circuitRelayTransport({
        reservationCompletionTimeout: RESERVATION_TIMEOUT_MS,
        reservationConcurrency: RESERVATION_CONCURRENCY,
        discoveryFilter: NO_RELAY_DISCOVERY
      })
    ],
    // no listen address: the relay keeper reserves circuit slots itself, and keeps them
    addresses: { ...extra.addresses },
    services: {
      identify: deferredIdentify(),
      ...(options.directUpgrade === false ? {} : { dcutr: drainingDcutr(options.callsOn ?? (() => 0)) }),
      ...(options.relays.length === 0 ? {} : { relayKeeper: relayKeeper({ relays: options.relays, ...options.keeper }) }),
      ...extra.services
    }
  })
  fixConnectionListing(node)
  joinTransportWrites(node)
  recordPeersLater(node)
  // the hop stream (a dial through a relay, a reservation) carries its request with the proposal,
  // and noise's first message carries the proposal of noise
  openEarly(node, [RELAY_V2_HOP_CODEC])
  encryptOutboundEarly(node)
  return node
}

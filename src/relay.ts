import type { PrivateKey } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import { MeshError } from './errors.ts'
import { DirectoryServer, RelayAdmission } from './names/index.ts'
import {
  createRelayNode,
  DEFAULT_RELAY_LISTEN,
  MAX_RESERVATIONS,
  type RelayLimits,
  type RelayNodeOptions
} from './net/index.ts'

/** The circuit relay v2 hop protocol: one stream per relayed circuit on the caller's side. */
const RELAY_HOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/hop'
import type { RevocationStore } from './ucan/index.ts'

/** Options of {@link createRelay}. */
export interface RelayOptions {
  /**
   * Trusted authorities: organisation → `did:key`. The relay reserves slots for, and stores the names
   * of, agents holding a naming right from one of them; nobody else.
   */
  trust?: Record<string, string>
  /** PeerIds admitted to reserve slots without a naming right (they still cannot register names). */
  allow?: string[]
  /** Revoked delegations: naming rights resting on them are refused. */
  revoked?: RevocationStore
  /**
   * Multiaddrs to listen on. A relay is the only role that listens.
   *
   * @default ['/ip4/127.0.0.1/tcp/0/ws', '/ip4/127.0.0.1/tcp/0'] (loopback WebSockets and TCP on free ports)
   */
  listen?: string[]
  /** The relay's identity; a fresh Ed25519 key when omitted. */
  privateKey?: PrivateKey
  /** Limits on reservations and relayed connections; unset limits are unlimited. */
  limits?: RelayLimits
  /**
   * libp2p transports to listen and dial with (for example `memory()` in tests, or WebTransport).
   *
   * @default WebSockets and TCP
   */
  transports?: RelayNodeOptions['transports']
}

/** What a relay is using now. */
export interface RelayMetrics {
  /** Agents holding a circuit reservation. */
  reservations: number
  /** The most reservations it will hold. */
  maxReservations: number
  /** Open connections (agents, callers). */
  connections: number
  /** Relayed circuits open now (each a stream pair between a caller and an agent). */
  circuits: number
  /** Name records held by the directory. */
  records: number
  /** Peers admitted by naming right. */
  admitted: number
  /** Resident memory of the process, in bytes. */
  rssBytes: number
}

/** A running relay: circuit relay v2, admission control and the name directory. */
export interface Relay {
  /** The relay's PeerId. */
  readonly peerId: string
  /** Multiaddrs agents and callers dial, each ending in `/p2p/<peerId>`, WebSockets first. */
  readonly addrs: string[]
  /** The underlying libp2p node, for metrics and advanced use. */
  readonly node: Libp2p
  /** The name directory (records held, for metrics). */
  readonly directory: DirectoryServer
  /** Who was admitted or refused a reservation, and why. */
  readonly admission: RelayAdmission
  /** Number of agents holding a reservation now. */
  reservationCount(): number
  /** Current use, for dashboards and alerts. */
  metrics(): RelayMetrics
  /** Stop listening and close every connection. */
  stop(): Promise<void>
}

/** The longest timer Node keeps (2^31 - 1 ms): a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * Refuse limits that cannot mean what they say: a zero, negative or fractional count, a duration
 * that is not a whole number of ms up to {@link MAX_TIMER_MS} (libp2p arms timers with it, and a
 * fraction or a longer one ends every circuit at once), a data limit of 0 (which ended every circuit
 * at its first byte). Leave a limit out for none.
 */
function checkLimits(limits: RelayLimits | undefined): void {
  if (limits === undefined) return
  const whole = (name: string, value: number | undefined, max: number): void => {
    if (value === undefined) return
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > max) {
      throw new MeshError('INVALID_ARGUMENT', `limits.${name} must be a whole number from 1 to ${max}; leave it out for no limit`)
    }
  }
  whole('maxReservations', limits.maxReservations, Number.MAX_SAFE_INTEGER)
  whole('durationMs', limits.durationMs, MAX_TIMER_MS)
  whole('reservationTtlMs', limits.reservationTtlMs, MAX_TIMER_MS)
  if (limits.dataBytes !== undefined && (typeof limits.dataBytes !== 'bigint' || limits.dataBytes <= 0n)) {
    throw new MeshError('INVALID_ARGUMENT', 'limits.dataBytes must be a positive bigint; leave it out for no limit')
  }
}

/**
 * Start a relay: a libp2p node that listens, relays circuits between agents and their callers
 * (seeing only noise ciphertext), admits only agents with a naming right from a trusted authority,
 * and serves the verified name directory `/agentmesh/dir/1`.
 *
 * @example
 * ```ts
 * import { createRelay } from 'agentmesh'
 *
 * const relay = await createRelay({ listen: ['/ip4/0.0.0.0/tcp/4001/ws'], trust: { acme: acmeDid } })
 * const dialMe = relay.addrs[0] // give this to agents and orchestrators
 * ```
 */
export async function createRelay(options: RelayOptions = {}): Promise<Relay> {
  const trust = options.trust ?? {}
  if (Object.keys(trust).length === 0 && (options.allow ?? []).length === 0) {
    throw new MeshError('INVALID_ARGUMENT', 'a relay needs `trust` (or an `allow` list): it is never an open proxy')
  }
  checkLimits(options.limits)
  // the gate is built before the node and the admission after it: the admission needs the node
  const gate: { admission?: RelayAdmission } = {}
  const node = await createRelayNode({
    listen: options.listen ?? DEFAULT_RELAY_LISTEN,
    ...(options.privateKey === undefined ? {} : { privateKey: options.privateKey }),
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(options.transports === undefined ? {} : { transports: options.transports }),
    denyReservation: async (peer) => !(await (gate.admission?.admits(peer) ?? Promise.resolve(false)))
  })
  const admission = new RelayAdmission(
    {
      connectionTo: (peer) => node.getConnections(peer).find((c) => c.status === 'open'),
      log: node.logger.forComponent('agentmesh:relay:admission')
    },
    {
      trust,
      ...(options.allow === undefined ? {} : { allow: options.allow }),
      ...(options.revoked === undefined ? {} : { revoked: options.revoked })
    }
  )
  gate.admission = admission
  const directory = new DirectoryServer(
    { registrar: node, logger: node.logger },
    { trust, ...(options.revoked === undefined ? {} : { revoked: options.revoked }) }
  )
  try {
    await directory.start()
  } catch (err) {
    await node.stop()
    throw MeshError.from(err)
  }
  const addrs = node
    .getMultiaddrs()
    .map((ma) => ma.toString())
    .sort((a, b) => Number(b.includes('/ws')) - Number(a.includes('/ws')))
  const relayService = node.services.relay as { reservations: { size: number } }
  return {
    peerId: node.peerId.toString(),
    addrs,
    node,
    directory,
    admission,
    reservationCount: () => relayService.reservations.size,
    metrics: () => ({
      reservations: relayService.reservations.size,
      maxReservations: options.limits?.maxReservations ?? MAX_RESERVATIONS,
      connections: node.getConnections().length,
      circuits: node
        .getConnections()
        .reduce((n, c) => n + c.streams.filter((st) => st.protocol === RELAY_HOP_PROTOCOL).length, 0),
      records: directory.size,
      admitted: admission.size,
      rssBytes: process.memoryUsage.rss()
    }),
    async stop() {
      await directory.stop()
      await node.stop()
    }
  }
}

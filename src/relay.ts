import { MeshError } from './errors.ts'
import { DirectoryServer } from './names/index.ts'
import { createRelayNode, DEFAULT_RELAY_LISTEN, type RelayLimits } from './net/index.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

/** Options of {@link createRelay}. */
export interface RelayOptions {
  /**
   * Multiaddrs to listen on. A relay is the only role that listens.
   *
   * @default DEFAULT_RELAY_LISTEN (loopback WebSockets and TCP on free ports)
   */
  listen?: string[]
  /** The relay's identity; a fresh Ed25519 key when omitted. */
  privateKey?: PrivateKey
  /** Limits on reservations and relayed connections; unset limits are unlimited. */
  limits?: RelayLimits
}

/** A running relay: circuit relay v2 plus the name directory. */
export interface Relay {
  /** The relay's PeerId. */
  readonly peerId: string
  /** Multiaddrs agents and callers dial, each ending in `/p2p/<peerId>`, WebSockets first. */
  readonly addrs: string[]
  /** The underlying libp2p node, for metrics and advanced use. */
  readonly node: Libp2p
  /** Number of agents holding a reservation now. */
  reservationCount(): number
  /** Stop listening and close every connection. */
  stop(): Promise<void>
}

/**
 * Start a relay: a libp2p node that listens, relays circuits between agents and their callers
 * (seeing only noise ciphertext) and serves the name directory `/agentmesh/dir/1`.
 *
 * @example
 * ```ts
 * import { createRelay } from 'agentmesh'
 *
 * const relay = await createRelay({ listen: ['/ip4/0.0.0.0/tcp/4001/ws'] })
 * console.info('relay at', relay.addrs[0])
 * ```
 */
export async function createRelay(options: RelayOptions = {}): Promise<Relay> {
  const node = await createRelayNode({
    listen: options.listen ?? DEFAULT_RELAY_LISTEN,
    ...(options.privateKey === undefined ? {} : { privateKey: options.privateKey }),
    ...(options.limits === undefined ? {} : { limits: options.limits })
  })
  const directory = new DirectoryServer({ registrar: node, logger: node.logger })
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
    reservationCount: () => relayService.reservations.size,
    async stop() {
      await directory.stop()
      await node.stop()
    }
  }
}

import type { Connection } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from 'libp2p'
import { isCircuit } from './relay-circuits.ts'

/**
 * Connections to named peers, by PeerId string: the open one is reused without scanning the node's
 * connections on every call, and concurrent dials to one peer share one dial. When a direct
 * connection opens to a peer reached through a relay (a DCUtR upgrade, in either direction), new
 * calls take it; the relayed one is left to the calls still running on it.
 */
export class PeerDialer {
  private readonly node: Libp2p
  private readonly open = new Map<string, Connection>()
  private readonly dialing = new Map<string, Promise<Connection>>()

  constructor(node: Libp2p) {
    this.node = node
    node.addEventListener('connection:open', (evt) => {
      const connection = evt.detail
      if (isCircuit(connection)) return
      const peer = connection.remotePeer.toString()
      const known = this.open.get(peer)
      if (known !== undefined && isCircuit(known)) this.open.set(peer, connection)
    })
  }

  /** The open connection to `peer` in use, if there is one. */
  openTo(peer: string): Connection | undefined {
    const known = this.open.get(peer)
    return known?.status === 'open' ? known : undefined
  }

  /** An open connection to `peer`: the one in use, the dial already under way, or a new dial to `addrs`. */
  async connect(peer: string, addrs: string[], signal: AbortSignal): Promise<Connection> {
    const known = this.openTo(peer)
    if (known !== undefined) return known
    let pending = this.dialing.get(peer)
    if (pending === undefined) {
      pending = this.node
        .dial(
          addrs.map((a) => multiaddr(a)),
          { signal }
        )
        .then((connection) => {
          this.open.set(peer, connection)
          return connection
        })
        .finally(() => this.dialing.delete(peer))
      this.dialing.set(peer, pending)
    }
    return await pending
  }
}

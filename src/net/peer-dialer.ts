import type { Connection } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from 'libp2p'

/**
 * Connections to named peers, by PeerId string: the open one is reused without scanning the node's
 * connections on every call, and concurrent dials to one peer share one dial.
 */
export class PeerDialer {
  private readonly node: Libp2p
  private readonly open = new Map<string, Connection>()
  private readonly dialing = new Map<string, Promise<Connection>>()

  constructor(node: Libp2p) {
    this.node = node
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

import type { Connection, PeerId } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

interface ConnectionManagerInternals {
  getConnections(peerId?: PeerId): Connection[]
  getConnectionsMap(): { get(peer: PeerId): Connection[] | undefined; values(): Iterable<Connection[]> }
}

/**
 * List a node's connections in linear time.
 *
 * libp2p 3.3's connection manager builds the list of all connections with `concat` in a loop, which
 * copies the growing array once per peer: quadratic in the number of peers. It does so on every
 * inbound connection (to count against `maxConnections`) and on every `connection:open`. On a relay
 * holding thousands of agents that alone took most of a core and stalled reservations at about
 * 5,000 agents in our capacity benchmark. This replaces that method on the node's connection manager
 * with a linear one that returns the same list.
 *
 * Reaches into libp2p internals (`node.components.connectionManager`); a no-op when they do not have
 * the expected shape.
 */
export function fixConnectionListing(node: Libp2p): boolean {
  const manager = (node as unknown as { components?: { connectionManager?: ConnectionManagerInternals } }).components
    ?.connectionManager
  if (typeof manager?.getConnectionsMap !== 'function' || typeof manager.getConnections !== 'function') return false
  const byPeer = manager.getConnectionsMap()
  manager.getConnections = (peerId?: PeerId): Connection[] => {
    if (peerId !== undefined && peerId !== null) return byPeer.get(peerId) ?? []
    const all: Connection[] = []
    for (const connections of byPeer.values()) {
      for (const connection of connections) all.push(connection)
    }
    return all
  }
  return true
}

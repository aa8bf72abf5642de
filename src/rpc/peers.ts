import type { Connection } from '@libp2p/interface'

const names = new WeakMap<Connection, string>()

/**
 * The remote PeerId of `connection` as a string, computed once per connection (base58 encoding a
 * PeerId on every call shows up in profiles).
 */
export function remotePeerString(connection: Connection): string {
  let name = names.get(connection)
  if (name === undefined) {
    name = connection.remotePeer.toString()
    names.set(connection, name)
  }
  return name
}

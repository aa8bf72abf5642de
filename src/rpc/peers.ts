import type { Connection } from '@libp2p/interface'
import { didFromPeerId } from '../identity/index.ts'

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

const dids = new WeakMap<Connection, string>()

/** The remote peer's `did:key` (the same Ed25519 key as its PeerId), computed once per connection. */
export function remoteDidString(connection: Connection): string {
  let did = dids.get(connection)
  if (did === undefined) {
    did = didFromPeerId(remotePeerString(connection))
    dids.set(connection, did)
  }
  return did
}

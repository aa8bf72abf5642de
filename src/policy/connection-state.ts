/**
 * What the UCAN authorizer keeps per connection: the delegations presented on it, the chains it
 * validated for it, the grants it made on it and who the caller is. All of it is keyed by the
 * connection in WeakMaps, so it goes with the connection.
 */
import type { Connection } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { equals } from 'uint8arrays/equals'
import { type Grant, remoteDidString, remotePeerString } from '../rpc/index.ts'
import { decodeDelegation, type Delegation, UcanError, type ValidatedChain } from '../ucan/index.ts'
import { CHAINS_PER_CONNECTION, MAX_PROOF_BYTES_PER_CONNECTION, MAX_PROOFS_PER_CONNECTION } from './constants.ts'

/**
 * What the authorizer keeps per connection: delegations presented on it by calls whose chain
 * validated, by CID, within `MAX_PROOFS_PER_CONNECTION` tokens and `MAX_PROOF_BYTES_PER_CONNECTION` bytes.
 */
export const presented = new WeakMap<Connection, Map<string, Delegation>>()

/** No delegations: what a call presenting none, on a connection that keeps none, shares. */
const NONE: ReadonlyMap<string, Delegation> = new Map()

/** Bytes of the tokens in `store`. */
function bytesOf(store: ReadonlyMap<string, Delegation>): number {
  let bytes = 0
  for (const delegation of store.values()) bytes += delegation.bytes.byteLength
  return bytes
}

/** The delegations `connection` keeps (an empty map shared by all when it keeps none). */
export function keptTokens(connection: Connection): ReadonlyMap<string, Delegation> {
  return presented.get(connection) ?? NONE
}

/**
 * The tokens a call presents that the connection does not keep yet (`kept`), decoded (from a copy
 * of their own: a token must not hold the frame it came in) and held for this call only.
 *
 * @throws {UcanError} `MalformedToken` when they would take the connection over its count or byte budget
 */
export function stageTokens(kept: ReadonlyMap<string, Delegation>, tokens: Uint8Array[]): ReadonlyMap<string, Delegation> {
  if (tokens.length === 0) return NONE
  const fresh = new Map<string, Delegation>()
  let bytes = bytesOf(kept)
  for (const token of tokens) {
    const own = token.byteLength === token.buffer.byteLength ? token : new Uint8Array(token)
    const delegation = decodeDelegation(own)
    const cid = delegation.cid.toString()
    if (kept.has(cid) || fresh.has(cid)) continue
    bytes += own.byteLength
    if (kept.size + fresh.size >= MAX_PROOFS_PER_CONNECTION) {
      throw new UcanError('MalformedToken', `more than ${MAX_PROOFS_PER_CONNECTION} delegations on one connection`)
    }
    if (bytes > MAX_PROOF_BYTES_PER_CONNECTION) {
      throw new UcanError('MalformedToken', `more than ${MAX_PROOF_BYTES_PER_CONNECTION} bytes of delegations on one connection`)
    }
    fresh.set(cid, delegation)
  }
  return fresh
}

/**
 * Keep a call's tokens on its connection, now that its chain validated. Within the budgets again:
 * a concurrent call may have kept others since; a token left out is presented again by the caller.
 */
export function keepTokens(connection: Connection, fresh: ReadonlyMap<string, Delegation>): void {
  if (fresh.size === 0) return
  let kept = presented.get(connection)
  if (kept === undefined) {
    kept = new Map()
    presented.set(connection, kept)
  }
  let bytes = bytesOf(kept)
  for (const [cid, delegation] of fresh) {
    if (kept.has(cid)) continue
    if (kept.size >= MAX_PROOFS_PER_CONNECTION || bytes + delegation.bytes.byteLength > MAX_PROOF_BYTES_PER_CONNECTION) return
    bytes += delegation.bytes.byteLength
    kept.set(cid, delegation)
  }
}

/** The delegations presented so far on `connection` (for onward calls made on the caller's behalf). */
export function presentedProofs(connection: Connection): Uint8Array[] {
  return [...(presented.get(connection)?.values() ?? [])].map((d) => d.bytes)
}

/**
 * Chains already validated on one connection, found again by the bytes of their CIDs: the common
 * case of a caller presenting the same chain call after call costs a few byte comparisons, not a
 * CID-to-string encoding per link. Time, revocation and policies are still checked on every call.
 */
export class ConnectionChains {
  private readonly entries: Array<{ prf: Uint8Array[]; chain: ValidatedChain }> = []

  find(prf: readonly CID[]): ValidatedChain | undefined {
    for (const entry of this.entries) {
      if (entry.prf.length === prf.length && entry.prf.every((bytes, i) => equals(bytes, prf[i]!.bytes))) {
        return entry.chain
      }
    }
    return undefined
  }

  add(prf: readonly CID[], chain: ValidatedChain): void {
    if (this.entries.length >= CHAINS_PER_CONNECTION) this.entries.shift()
    this.entries.push({ prf: prf.map((c) => c.bytes), chain })
  }
}

const connectionChains = new WeakMap<Connection, ConnectionChains>()

/** The grants made on each connection, by intent, with the chain each was made under. */
export const grants = new WeakMap<Connection, Map<string, { chain: ValidatedChain; grant: Grant }>>()

export function chainsOf(connection: Connection): ConnectionChains {
  let chains = connectionChains.get(connection)
  if (chains === undefined) {
    chains = new ConnectionChains()
    connectionChains.set(connection, chains)
  }
  return chains
}

const callers = new WeakMap<Connection, { peer: string; did: string }>()

/** The caller on `connection`: its PeerId and did:key, computed once per connection. */
export function callerOf(connection: Connection): { peer: string; did: string } {
  let caller = callers.get(connection)
  if (caller === undefined) {
    caller = { peer: remotePeerString(connection), did: remoteDidString(connection) }
    callers.set(connection, caller)
  }
  return caller
}


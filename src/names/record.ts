import { MeshError } from '../errors.ts'
import { type Ed25519Signer, peerIdFromDid } from '../identity/index.ts'
import {
  CLOCK_SKEW_SECONDS,
  type Delegation,
  decodeDelegation,
  findChain,
  invoke,
  type RevocationStore,
  type UcanCache,
  UcanError,
  validateSync
} from '../ucan/index.ts'
import { MAX_RECORD_ADDRS, MAX_RECORD_PROOFS, MAX_RECORD_TTL_MS, NAME_COMMAND } from './constants.ts'
import { assertName } from './syntax.ts'

/**
 * A name record as it travels and is stored: a UCAN 1.0 invocation of `/agentmesh/name`, signed by
 * the agent, whose `args` are `{ name, addrs, seq }`, plus the delegations that prove the agent's
 * right to the name. Self-verifying: anyone may store or serve it, nobody can forge it.
 */
export interface SignedNameRecord {
  /** The invocation envelope (DAG-CBOR bytes). */
  token: Uint8Array
  /** The naming-right delegations, root first. */
  proofs: Uint8Array[]
}

/** A record whose signature, chain and trust were checked: where a named agent can be reached. */
export interface NameRecord {
  /** The agent's name. */
  name: string
  /** The agent's PeerId (the invocation's issuer). */
  peer: string
  /** Multiaddrs to dial it, usually circuit addresses through its relays. */
  addrs: string[]
  /** Sequence number: a higher one replaces a lower one. */
  seq: number
  /** Expiry, in ms since the epoch: never later than the naming right's. */
  exp: number
  /** CIDs of the naming-right delegations, root first: the record dies when one is revoked. */
  rights: string[]
  /** The record as signed, to store or pass on. */
  signed: SignedNameRecord
}

/** Options of {@link signNameRecord}. */
export interface SignNameRecordOptions {
  signer: Ed25519Signer
  name: string
  addrs: string[]
  /** @default Date.now() */
  seq?: number
  /** Lifetime in ms, at most 1 hour (`MAX_RECORD_TTL_MS`); the record ends with the naming right if that ends first. */
  ttl: number
  /** Delegations among which the naming right for `name` is found. */
  proofs: ReadonlyArray<Delegation | Uint8Array>
}

/**
 * Sign the agent's name record.
 *
 * @throws {MeshError} `PERMISSION_DENIED` when the proofs hold no naming right for this agent;
 * `INVALID_ARGUMENT` for a `ttl` longer than 1 hour (`MAX_RECORD_TTL_MS`)
 * @example
 * ```ts
 * const signed = await signNameRecord({ signer, name: 'acme/prod/k8s', addrs, ttl: 300_000, proofs: [right] })
 * ```
 */
export async function signNameRecord(options: SignNameRecordOptions): Promise<SignedNameRecord> {
  assertName(options.name)
  if (options.addrs.length > MAX_RECORD_ADDRS) {
    throw new MeshError('INVALID_ARGUMENT', `a record holds at most ${MAX_RECORD_ADDRS} addresses`)
  }
  if (!(options.ttl <= MAX_RECORD_TTL_MS)) {
    throw new MeshError('INVALID_ARGUMENT', `a record lives at most ${MAX_RECORD_TTL_MS} ms (MAX_RECORD_TTL_MS)`)
  }
  const delegations = options.proofs.map((p) => (p instanceof Uint8Array ? decodeDelegation(p) : p))
  const now = Date.now()
  const chain = findChain(delegations, options.signer.did, NAME_COMMAND, Math.floor(now / 1000))
  if (chain === undefined || chain.length > MAX_RECORD_PROOFS) {
    throw new MeshError('PERMISSION_DENIED', `this agent holds no naming right for ${options.name}`)
  }
  const root = chain[0]!
  // a record never outlives the right it rests on
  const rightExp = Math.min(...chain.map((d) => d.payload.exp ?? Number.POSITIVE_INFINITY))
  const inv = await invoke({
    issuer: options.signer,
    subject: root.payload.sub ?? root.payload.iss,
    command: NAME_COMMAND,
    args: { name: options.name, addrs: [...options.addrs], seq: options.seq ?? now },
    proofs: chain,
    expiration: Math.min(Math.floor((now + options.ttl) / 1000), rightExp)
  })
  return { token: inv.bytes, proofs: chain.map((d) => d.bytes) }
}

/** Options of {@link verifyNameRecord}. */
export interface VerifyNameRecordOptions {
  /** Trusted authorities: organisation (the first label of a name) → `did:key`. */
  trust: Readonly<Record<string, string>>
  /** The name the record must be for (a resolver always knows what it asked). */
  name?: string
  /** Current time in Unix seconds, for tests. */
  now?: number
  revoked?: RevocationStore
  cache?: UcanCache | false
}

function isSignedRecord(value: unknown): value is SignedNameRecord {
  if (typeof value !== 'object' || value === null) return false
  const { token, proofs } = value as Record<string, unknown>
  return (
    token instanceof Uint8Array &&
    Array.isArray(proofs) &&
    proofs.length <= MAX_RECORD_PROOFS &&
    proofs.every((p) => p instanceof Uint8Array)
  )
}

/**
 * Verify a signed record from anywhere (a relay, the DHT, a file): the agent's signature, its naming
 * right chained to the authority trusted for the name's organisation, the policy on `.name`,
 * revocation and expiry. Nothing a relay says is taken on trust. A record must end within
 * 1 hour (`MAX_RECORD_TTL_MS`) (plus the UCAN clock skew) and no later than its naming right: a stolen
 * key cannot sign itself a record that outlives the right's revocation or expiry.
 *
 * @throws {MeshError} `NOT_FOUND` for a record of another name; `PERMISSION_DENIED` with the UCAN
 * reason for a forged, expired, revoked or unauthorized record, and with reason `ExpiryTooLate` for
 * one that expires too far ahead or after its naming right; `INVALID_ARGUMENT` for garbage
 * @example
 * ```ts
 * const record = verifyNameRecord(signed, { trust: { acme: acmeDid }, name: 'acme/prod/k8s' })
 * await node.dial(multiaddr(record.addrs[0]))
 * ```
 */
export function verifyNameRecord(value: unknown, options: VerifyNameRecordOptions): NameRecord {
  if (!isSignedRecord(value)) throw new MeshError('INVALID_ARGUMENT', 'a name record is { token, proofs }')
  let validated: ReturnType<typeof validateSync>
  try {
    validated = validateSync(value.token, {
      proofs: value.proofs,
      ...(options.now === undefined ? {} : { now: options.now }),
      ...(options.revoked === undefined ? {} : { revoked: options.revoked }),
      ...(options.cache === undefined ? {} : { cache: options.cache })
    })
  } catch (err) {
    if (err instanceof UcanError) {
      throw new MeshError(err.code, `name record refused: ${err.reason}: ${err.message}`, {
        details: { reason: err.reason }
      })
    }
    throw MeshError.from(err, 'INVALID_ARGUMENT')
  }
  const { args, command } = validated
  if (command !== NAME_COMMAND) throw new MeshError('PERMISSION_DENIED', 'not a name record')
  const name = args.name
  assertName(name)
  if (options.name !== undefined && name !== options.name) {
    throw new MeshError('NOT_FOUND', `the record is for ${name}, not ${options.name}`)
  }
  const org = name.slice(0, name.indexOf('/'))
  const trusted = Object.hasOwn(options.trust, org) ? options.trust[org] : undefined
  if (trusted === undefined || validated.subject !== trusted) {
    throw new MeshError('PERMISSION_DENIED', `name record refused: InvalidSubject: ${org} is not rooted in its trusted authority`, {
      details: { reason: 'InvalidSubject' }
    })
  }
  const addrs = args.addrs
  const seq = args.seq
  if (!Array.isArray(addrs) || addrs.length > MAX_RECORD_ADDRS || !addrs.every((a) => typeof a === 'string')) {
    throw new MeshError('INVALID_ARGUMENT', 'record addrs must be a list of strings')
  }
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
    throw new MeshError('INVALID_ARGUMENT', 'record seq must be a non-negative integer')
  }
  const exp = validated.invocation.payload.exp
  if (exp === null) throw new MeshError('PERMISSION_DENIED', 'a name record must expire')
  const now = options.now ?? Math.floor(Date.now() / 1000)
  const latest = now + Math.floor(MAX_RECORD_TTL_MS / 1000) + CLOCK_SKEW_SECONDS
  if (exp > latest) {
    throw new MeshError('PERMISSION_DENIED', `name record refused: ExpiryTooLate: it expires more than ${MAX_RECORD_TTL_MS} ms ahead`, {
      details: { reason: 'ExpiryTooLate', exp, latest }
    })
  }
  const rightExp = validated.chain.expiration
  if (rightExp !== null && exp > rightExp) {
    throw new MeshError('PERMISSION_DENIED', 'name record refused: ExpiryTooLate: it expires after its naming right', {
      details: { reason: 'ExpiryTooLate', exp, latest: rightExp }
    })
  }
  return {
    name,
    peer: peerIdFromDid(validated.issuer).toString(),
    addrs: addrs as string[],
    seq,
    exp: exp * 1000,
    rights: [...validated.chain.cids],
    // copies: a decoded token is a view into the decoder's 64 KiB buffer, which a stored view keeps alive
    signed: { token: value.token.slice(), proofs: value.proofs.map((p) => p.slice()) }
  }
}

/**
 * True when a verified record still holds at `now` (ms): not expired, and no delegation of its naming
 * right revoked since it was verified.
 *
 * @example
 * ```ts
 * if (!isLive(held, revoked)) records.delete(held.name)
 * ```
 */
export function isLive(record: Pick<NameRecord, 'exp' | 'rights'>, revoked: RevocationStore | undefined, now = Date.now()): boolean {
  if (record.exp <= now) return false
  return revoked === undefined || !record.rights.some((cid) => revoked.isRevoked(cid))
}

/** True when `candidate` should replace `held`: same name, and newer. */
export function isNewer(candidate: NameRecord, held: NameRecord | undefined): boolean {
  if (held === undefined) return true
  return candidate.seq > held.seq
}

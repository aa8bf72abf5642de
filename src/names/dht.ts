/**
 * Names at scale: the same self-verifying name records, stored in libp2p's Kademlia DHT
 * (`@libp2p/kad-dht`) under the `/agentmesh/` key namespace, with a validator and a selector that
 * verify every record (signature, naming right chained to the trusted authority, policy on the
 * name, expiry), and a resolver that verifies again whatever the DHT answers.
 *
 * @example
 * ```ts
 * import { createLibp2p } from 'libp2p'
 * import { agentmeshDht, publishNameRecord, resolveNameFromDht } from './dht.ts'
 *
 * const node = await createLibp2p({ ..., services: { identify: identify(), ping: ping(), dht: agentmeshDht({ trust, clientMode: false }) } })
 * await publishNameRecord(node.services.dht, signed)
 * const record = await resolveNameFromDht(node.services.dht, 'acme/prod/k8s', { trust })
 * ```
 *
 * @packageDocumentation
 */
import {
  type KadDHT,
  type KadDHTComponents,
  type KadDHTInit,
  kadDHT,
  passthroughMapper,
  type QueryEvent,
  removePrivateAddressesMapper,
  removePublicAddressesMapper,
  type SelectFn,
  type ValidateFn
} from '@libp2p/kad-dht'
import { compare as compareBytes } from 'uint8arrays/compare'
import { equals as equalBytes } from 'uint8arrays/equals'
import { fromString as bytesFromString } from 'uint8arrays/from-string'
import { toString as bytesToString } from 'uint8arrays/to-string'
import { MeshError } from '../errors.ts'
import { decodeCanonical, decodeInvocation, encodeCbor, type RevocationStore } from '../ucan/index.ts'
import { type NameRecord, type SignedNameRecord, verifyNameRecord } from './record.ts'
import { RecordCache } from './record-cache.ts'
import { assertName } from './syntax.ts'
import type { AbortOptions, Logger } from '@libp2p/interface'

/**
 * The DHT key namespace of name records: kad-dht picks the validator and selector of a key by the
 * label between its first two slashes.
 *
 * @example
 * ```ts
 * kadDHT({ validators: { [DHT_NAMESPACE]: validate }, selectors: { [DHT_NAMESPACE]: select } })
 * ```
 */
export const DHT_NAMESPACE = 'agentmesh'

/**
 * The private Kademlia protocol id of agentmesh nodes, so that the agentmesh DHT never merges with
 * the public IPFS DHT (`/ipfs/kad/1.0.0`).
 *
 * @example
 * ```ts
 * agentmeshDht({ trust, protocol: DHT_PROTOCOL })
 * ```
 */
export const DHT_PROTOCOL = '/agentmesh/kad/1.0.0'

/**
 * Largest encoded name record accepted from or put into the DHT, in bytes (a record holds at most
 * 16 addresses and 8 delegations: a few KiB).
 *
 * @example
 * ```ts
 * if (value.length > MAX_DHT_RECORD_BYTES) throw new Error('too large')
 * ```
 */
export const MAX_DHT_RECORD_BYTES = 16 * 1024

/**
 * Time one DHT resolve may take, in ms, unless the caller's signal says otherwise.
 *
 * @example
 * ```ts
 * await resolveNameFromDht(dht, name, { trust, timeoutMs: DHT_RESOLVE_TIMEOUT_MS })
 * ```
 */
export const DHT_RESOLVE_TIMEOUT_MS = 10_000

/**
 * Time one DHT publish may take, in ms, unless the caller's signal says otherwise.
 *
 * @example
 * ```ts
 * await publishNameRecord(dht, signed, { timeoutMs: DHT_PUBLISH_TIMEOUT_MS })
 * ```
 */
export const DHT_PUBLISH_TIMEOUT_MS = 30_000

/**
 * Names whose newest `seq` a validator remembers, to refuse a replayed older (still unexpired)
 * record. js kad-dht stores any valid record a peer puts, without comparing it with the one it
 * holds (go-libp2p does compare), so the validator keeps this high-water mark itself.
 *
 * @example
 * ```ts
 * nameRecordValidator(trust, { rememberNames: MAX_DHT_REMEMBERED_NAMES })
 * ```
 */
export const MAX_DHT_REMEMBERED_NAMES = 10_000

const KEY_PREFIX = `/${DHT_NAMESPACE}/`

/**
 * The DHT key of a name: the UTF-8 bytes of `/agentmesh/<name>`.
 *
 * @throws {MeshError} `INVALID_ARGUMENT` for an invalid name
 * @example
 * ```ts
 * nameKey('acme/prod/k8s') // bytes of '/agentmesh/acme/prod/k8s'
 * ```
 */
export function nameKey(name: string): Uint8Array {
  assertName(name)
  return bytesFromString(KEY_PREFIX + name)
}

/**
 * The name a DHT key is for: the inverse of {@link nameKey}.
 *
 * @throws {MeshError} `INVALID_ARGUMENT` for a key outside `/agentmesh/` or holding an invalid name
 * @example
 * ```ts
 * nameFromKey(nameKey('acme/prod/k8s')) // 'acme/prod/k8s'
 * ```
 */
export function nameFromKey(key: Uint8Array): string {
  if (!(key instanceof Uint8Array)) throw new MeshError('INVALID_ARGUMENT', 'a DHT key is bytes')
  const text = bytesToString(key)
  if (!text.startsWith(KEY_PREFIX)) throw new MeshError('INVALID_ARGUMENT', `the key is not under ${KEY_PREFIX}`)
  const name = text.slice(KEY_PREFIX.length)
  assertName(name)
  return name
}

/**
 * Encode a signed record as a DHT value: DAG-CBOR of `{ token, proofs }`.
 *
 * @throws {MeshError} `INVALID_ARGUMENT` when it is not `{ token, proofs }` or exceeds {@link MAX_DHT_RECORD_BYTES}
 * @example
 * ```ts
 * const value = encodeNameRecordValue(signed)
 * ```
 */
export function encodeNameRecordValue(signed: SignedNameRecord): Uint8Array {
  const { token, proofs } = signed
  if (!(token instanceof Uint8Array) || !Array.isArray(proofs) || !proofs.every((p) => p instanceof Uint8Array)) {
    throw new MeshError('INVALID_ARGUMENT', 'a name record is { token, proofs }')
  }
  const bytes = encodeCbor({ token, proofs })
  if (bytes.length > MAX_DHT_RECORD_BYTES) {
    throw new MeshError('INVALID_ARGUMENT', `a DHT name record holds at most ${MAX_DHT_RECORD_BYTES} bytes`)
  }
  return bytes
}

/**
 * Decode a DHT value into a signed record (not verified: see {@link verifyDhtRecord}). Only the one
 * canonical DAG-CBOR encoding of exactly `{ token, proofs }` is accepted, so a record has one form.
 *
 * @throws {MeshError} `INVALID_ARGUMENT` for anything else
 * @example
 * ```ts
 * const signed = decodeNameRecordValue(value)
 * ```
 */
export function decodeNameRecordValue(value: Uint8Array): SignedNameRecord {
  if (!(value instanceof Uint8Array)) throw new MeshError('INVALID_ARGUMENT', 'a DHT value is bytes')
  if (value.length > MAX_DHT_RECORD_BYTES) {
    throw new MeshError('INVALID_ARGUMENT', `a DHT name record holds at most ${MAX_DHT_RECORD_BYTES} bytes`)
  }
  let decoded: unknown
  try {
    decoded = decodeCanonical(value, MAX_DHT_RECORD_BYTES)
  } catch (err) {
    throw new MeshError('INVALID_ARGUMENT', 'a DHT name record is canonical DAG-CBOR', { cause: err })
  }
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) {
    throw new MeshError('INVALID_ARGUMENT', 'a DHT name record is a map { token, proofs }')
  }
  const keys = Object.keys(decoded)
  const { token, proofs } = decoded as Record<string, unknown>
  if (
    keys.length !== 2 ||
    !(token instanceof Uint8Array) ||
    !Array.isArray(proofs) ||
    !proofs.every((p) => p instanceof Uint8Array)
  ) {
    throw new MeshError('INVALID_ARGUMENT', 'a DHT name record is exactly { token, proofs }')
  }
  return { token, proofs: proofs as Uint8Array[] }
}

/** Options of {@link verifyDhtRecord}, {@link nameRecordValidator} and {@link nameRecordSelector}. */
export interface DhtRecordOptions {
  /** Revoked delegations: records resting on them are refused. */
  revoked?: RevocationStore
  /**
   * The clock, in ms since the epoch. A record is dead from its `exp` on, without the clock skew
   * UCAN allows, as the relay directory treats it.
   *
   * @default Date.now
   */
  now?: () => number
  /** Where refusals are logged. */
  log?: Logger
}

/**
 * Decode and verify a DHT value found under `key`: the name is the key's, never the record's own
 * claim, so a valid record of another name stored under this key is refused.
 *
 * @throws {MeshError} `INVALID_ARGUMENT` for garbage, `NOT_FOUND` for a record of another name,
 * `PERMISSION_DENIED` for a forged, untrusted, revoked or expired record
 * @example
 * ```ts
 * const record = verifyDhtRecord(nameKey('acme/prod/k8s'), value, { trust: { acme: acmeDid } })
 * ```
 */
export function verifyDhtRecord(
  key: Uint8Array,
  value: Uint8Array,
  options: DhtRecordOptions & { trust: Readonly<Record<string, string>> }
): NameRecord {
  const name = nameFromKey(key)
  const signed = decodeNameRecordValue(value)
  const nowMs = (options.now ?? Date.now)()
  const record = verifyNameRecord(signed, {
    trust: options.trust,
    name,
    now: Math.floor(nowMs / 1000),
    ...(options.revoked === undefined ? {} : { revoked: options.revoked })
  })
  if (record.exp <= nowMs) throw new MeshError('PERMISSION_DENIED', `the record of ${name} has expired`)
  return record
}

/** Options of {@link nameRecordValidator}. */
export interface NameRecordValidatorOptions extends DhtRecordOptions {
  /**
   * Names whose newest valid `seq` is remembered, to refuse an older unexpired record replayed
   * over a newer one; `0` turns the guard off.
   *
   * @default MAX_DHT_REMEMBERED_NAMES
   */
  rememberNames?: number
}

/**
 * The kad-dht validator of the `/agentmesh/` namespace (`validators: { agentmesh: … }`): throws,
 * so that kad-dht refuses the put or discards the answer, for anything but a valid record of the
 * key's own name: garbage, oversize, forged, untrusted, revoked, expired, another name's record,
 * or an older record of a name whose newer record this node has seen (a replay).
 *
 * @example
 * ```ts
 * kadDHT({ validators: { agentmesh: nameRecordValidator({ acme: acmeDid }) } })
 * ```
 */
export function nameRecordValidator(
  trust: Readonly<Record<string, string>>,
  options: NameRecordValidatorOptions = {}
): ValidateFn {
  const limit = options.rememberNames ?? MAX_DHT_REMEMBERED_NAMES
  const newest = new Map<string, { seq: number; exp: number }>()
  return (key: Uint8Array, value: Uint8Array): void => {
    let record: NameRecord
    try {
      record = verifyDhtRecord(key, value, { ...options, trust })
    } catch (err) {
      options.log?.('refused a DHT name record - %s', (err as Error).message)
      throw err
    }
    if (limit <= 0) return
    const held = newest.get(record.name)
    const now = (options.now ?? Date.now)()
    if (held !== undefined && held.exp > now && record.seq < held.seq) {
      options.log?.('refused a replayed DHT name record of %s (seq %d < %d)', record.name, record.seq, held.seq)
      throw new MeshError('ALREADY_EXISTS', `a newer record of ${record.name} is known (seq ${held.seq})`, {
        details: { seq: held.seq }
      })
    }
    if (held === undefined || held.exp <= now || record.seq >= held.seq) {
      newest.delete(record.name)
      newest.set(record.name, { seq: record.seq, exp: record.exp })
      if (newest.size > limit) {
        const oldest = newest.keys().next()
        if (oldest.done !== true) newest.delete(oldest.value)
      }
    }
  }
}

/** True when `a` beats `b`: higher seq, then later expiry, then the smaller encoding (deterministic). */
function beats(a: NameRecord, aValue: Uint8Array, b: NameRecord, bValue: Uint8Array): boolean {
  if (a.seq !== b.seq) return a.seq > b.seq
  if (a.exp !== b.exp) return a.exp > b.exp
  return compareBytes(aValue, bValue) < 0
}

/**
 * The kad-dht selector of the `/agentmesh/` namespace (`selectors: { agentmesh: … }`): the index of
 * the valid record with the highest `seq` (ties: later expiry, then the smaller encoding, so every
 * node picks the same). An invalid or expired record never wins; when none is valid, `0` (kad-dht
 * has already validated what it passes, and {@link resolveNameFromDht} verifies again).
 *
 * @example
 * ```ts
 * kadDHT({ selectors: { agentmesh: nameRecordSelector({ acme: acmeDid }) } })
 * ```
 */
export function nameRecordSelector(trust: Readonly<Record<string, string>>, options: DhtRecordOptions = {}): SelectFn {
  return (key: Uint8Array, records: Uint8Array[]): number => {
    let best = -1
    let bestRecord: NameRecord | undefined
    records.forEach((value, i) => {
      let record: NameRecord
      try {
        record = verifyDhtRecord(key, value, { ...options, trust })
      } catch (err) {
        options.log?.('selector skipped a DHT name record - %s', (err as Error).message)
        return
      }
      if (bestRecord === undefined || beats(record, value, bestRecord, records[best]!)) {
        best = i
        bestRecord = record
      }
    })
    return Math.max(best, 0)
  }
}

/** Which peer addresses the DHT keeps from what other peers tell it. */
export type DhtAddressScope = 'public' | 'private' | 'all'

/** Options of {@link agentmeshDht}. */
export interface AgentmeshDhtOptions {
  /** Trusted authorities: organisation → did. Records of other organisations are refused. */
  trust: Readonly<Record<string, string>>
  /** Revoked delegations: records resting on them are refused. */
  revoked?: RevocationStore
  /**
   * Client mode: query the DHT but never serve it. Relays (public, always on) run in server mode;
   * edge agents behind NAT in client mode.
   *
   * @default true (kad-dht's default)
   */
  clientMode?: boolean
  /** @default DHT_PROTOCOL */
  protocol?: string
  /**
   * Addresses kept from peer answers: `public` for the internet (kad-dht's default), `private` for a
   * LAN (loopback and RFC 1918 only), `all` for tests and mixed deployments.
   *
   * @default 'public'
   */
  addresses?: DhtAddressScope
  /** More kad-dht settings (timeouts, bucket size…), merged under the above. */
  kad?: Omit<KadDHTInit, 'validators' | 'selectors' | 'protocol' | 'clientMode' | 'peerInfoMapper'>
}

const MAPPERS = {
  public: removePrivateAddressesMapper,
  private: removePublicAddressesMapper,
  all: passthroughMapper
} as const

/**
 * The kad-dht service of an agentmesh node: the private protocol {@link DHT_PROTOCOL}, the
 * validator and selector of the `/agentmesh/` namespace, and agentmesh's log and datastore
 * prefixes. Needs the `identify` and `ping` services beside it.
 *
 * @example
 * ```ts
 * const node = await createLibp2p({
 *   addresses: { listen: ['/ip4/0.0.0.0/tcp/4002'] },
 *   transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()],
 *   services: { identify: identify(), ping: ping(), dht: agentmeshDht({ trust: { acme: acmeDid }, clientMode: false }) }
 * })
 * ```
 */
export function agentmeshDht(options: AgentmeshDhtOptions): (components: KadDHTComponents) => KadDHT {
  return (components) => {
    const log = components.logger.forComponent('agentmesh:dht:names')
    const recordOptions: DhtRecordOptions = {
      log,
      ...(options.revoked === undefined ? {} : { revoked: options.revoked })
    }
    return kadDHT({
      logPrefix: 'agentmesh:dht',
      datastorePrefix: '/agentmesh/dht',
      metricsPrefix: 'agentmesh_dht',
      ...options.kad,
      protocol: options.protocol ?? DHT_PROTOCOL,
      clientMode: options.clientMode ?? true,
      peerInfoMapper: MAPPERS[options.addresses ?? 'public'],
      validators: { [DHT_NAMESPACE]: nameRecordValidator(options.trust, recordOptions) },
      selectors: { [DHT_NAMESPACE]: nameRecordSelector(options.trust, recordOptions) }
    })(components)
  }
}

/**
 * The part of a kad-dht service that names need (its validators, when present, check a record
 * before it is published).
 *
 * @example
 * ```ts
 * const dht: NameDht = node.services.dht
 * ```
 */
export type NameDht = Pick<KadDHT, 'get' | 'put'> & Partial<Pick<KadDHT, 'validators'>>

/** Options of {@link publishNameRecord}. */
export interface PublishNameRecordOptions extends AbortOptions {
  /** @default DHT_PUBLISH_TIMEOUT_MS */
  timeoutMs?: number
}

/** What a publish achieved. */
export interface PublishResult {
  /** Peers that stored the record (the publishing node's own copy not counted). */
  accepted: number
  /** Query errors seen, refusals by peers' validators among them. */
  errors: number
}

function withTimeout(options: AbortOptions, timeoutMs: number): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs)
  return options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout])
}

/**
 * Put a signed record into the DHT under its name's key, on the closest peers. The local node's
 * `/agentmesh/` validator checks it first; then every peer verifies it with its own validator: a
 * forged, untrusted or expired record is stored by nobody.
 *
 * @throws {MeshError} the local validator's refusal (`PERMISSION_DENIED`, `NOT_FOUND`,
 * `ALREADY_EXISTS` for an older seq than one seen); `INVALID_ARGUMENT` for a malformed or oversize record; `UNAVAILABLE` when no
 * peer stored it (all refused, or none reachable); `CANCELLED` when `signal` aborted
 * @example
 * ```ts
 * const { accepted } = await publishNameRecord(node.services.dht, signed)
 * ```
 */
export async function publishNameRecord(
  dht: NameDht,
  signed: SignedNameRecord,
  options: PublishNameRecordOptions = {}
): Promise<PublishResult> {
  const value = encodeNameRecordValue(signed)
  const name = nameOfToken(signed)
  const key = nameKey(name)
  // kad-dht stores its own puts unchecked: the local validator checks the record first, and learns
  // its seq, so that this node too refuses a replay of an older record later
  const validate = dht.validators?.[DHT_NAMESPACE]
  if (validate !== undefined) {
    try {
      await validate(key, value)
    } catch (err) {
      throw MeshError.from(err, 'INVALID_ARGUMENT')
    }
  }
  const signal = withTimeout(options, options.timeoutMs ?? DHT_PUBLISH_TIMEOUT_MS)
  let accepted = 0
  let errors = 0
  try {
    for await (const event of dht.put(key, value, { signal })) {
      if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') {
        if (event.record !== undefined && equalBytes(event.record.value, value)) accepted++
      } else if (event.name === 'QUERY_ERROR') {
        errors++
      }
    }
  } catch (err) {
    if (options.signal?.aborted === true) throw MeshError.from(options.signal.reason ?? err)
    if (accepted === 0) throw new MeshError('UNAVAILABLE', `no DHT peer stored the record of ${name}`, { cause: err })
  }
  if (accepted === 0) {
    throw new MeshError('UNAVAILABLE', `no DHT peer stored the record of ${name}`, { details: { accepted, errors } })
  }
  return { accepted, errors }
}

/** The name a signed record claims (unverified: only to pick its key; every peer verifies it against the key). */
function nameOfToken(signed: SignedNameRecord): string {
  let name: unknown
  try {
    name = decodeInvocation(signed.token).payload.args['name']
  } catch (err) {
    throw new MeshError('INVALID_ARGUMENT', 'the record token is not a UCAN invocation', { cause: err })
  }
  assertName(name)
  return name
}

/** Options of {@link resolveNameFromDht}. */
export interface ResolveFromDhtOptions extends AbortOptions, DhtRecordOptions {
  /** Trusted authorities: organisation → did. */
  trust: Readonly<Record<string, string>>
  /** @default DHT_RESOLVE_TIMEOUT_MS */
  timeoutMs?: number
}

/**
 * Resolve a name from the DHT: every record any peer answers (and the one kad-dht selects) is
 * verified here again against `trust` and the name asked, and the valid one with the highest `seq`
 * wins. What the DHT says counts for nothing by itself.
 *
 * @throws {MeshError} `NOT_FOUND` when peers answered but no valid record was found; `UNAVAILABLE`
 * when no peer answered; `CANCELLED` when `signal` aborted
 * @example
 * ```ts
 * const record = await resolveNameFromDht(node.services.dht, 'acme/prod/k8s', { trust: { acme: acmeDid } })
 * await node.dial(multiaddr(record.addrs[0]))
 * ```
 */
export async function resolveNameFromDht(dht: NameDht, name: string, options: ResolveFromDhtOptions): Promise<NameRecord> {
  const key = nameKey(name)
  const signal = withTimeout(options, options.timeoutMs ?? DHT_RESOLVE_TIMEOUT_MS)
  let best: NameRecord | undefined
  let bestValue: Uint8Array | undefined
  let answered = 0
  let failure: unknown
  const consider = (value: Uint8Array): void => {
    let record: NameRecord
    try {
      record = verifyDhtRecord(key, value, options)
    } catch (err) {
      options.log?.('refused a DHT answer for %s - %s', name, (err as Error).message)
      return
    }
    if (best === undefined || bestValue === undefined || beats(record, value, best, bestValue)) {
      best = record
      bestValue = value
    }
  }
  try {
    for await (const event of dht.get(key, { signal }) as AsyncIterable<QueryEvent>) {
      if (event.name === 'VALUE') {
        answered++
        consider(event.value)
      } else if (event.name === 'PEER_RESPONSE') {
        answered++
        if (event.record !== undefined) consider(event.record.value)
      } else if (event.name === 'QUERY_ERROR' && event.error.message.startsWith('invalid record')) {
        // kad-dht's validator discarded a peer's record: the peer answered, with nothing valid
        answered++
      }
    }
  } catch (err) {
    // a failed correction of a stale peer, a query error or the timeout: keep what was found
    failure = err
    options.log?.('DHT get of %s ended early - %s', name, (err as Error).message)
  }
  if (best !== undefined) return best
  if (options.signal?.aborted === true) throw MeshError.from(options.signal.reason ?? failure)
  if (answered > 0) throw new MeshError('NOT_FOUND', `no valid record of ${name} was found in the DHT`)
  throw new MeshError('UNAVAILABLE', `no DHT peer could be asked for ${name}`, { cause: failure })
}

/** What a {@link DhtNameResolver} needs. */
export interface DhtResolverComponents {
  /** The node's kad-dht service (`node.services.dht`). */
  dht: NameDht
  log?: Logger
}

/** Options of a {@link DhtNameResolver}. */
export interface DhtResolverInit {
  /** Trusted authorities: organisation → did. A name of another organisation never resolves. */
  trust: Readonly<Record<string, string>>
  /** Revoked delegations: records resting on them never resolve. */
  revoked?: RevocationStore
  /** @default DHT_RESOLVE_TIMEOUT_MS */
  timeoutMs?: number
}

/**
 * Resolves names from the DHT as {@link NameResolver} does from relays: verifies every answer,
 * keeps the valid record with the highest `seq`, caches it until it expires, and shares one lookup
 * among concurrent resolves of a name.
 *
 * @example
 * ```ts
 * const names = new DhtNameResolver({ dht: node.services.dht }, { trust: { acme: acmeDid } })
 * await names.publish(signed)
 * const record = await names.resolve('acme/prod/k8s')
 * ```
 */
export class DhtNameResolver {
  private readonly components: DhtResolverComponents
  private readonly init: DhtResolverInit
  private readonly cache: RecordCache

  constructor(components: DhtResolverComponents, init: DhtResolverInit) {
    this.components = components
    this.init = init
    this.cache = new RecordCache(init.trust)
  }

  /**
   * The verified record of `name`.
   *
   * @throws {MeshError} `FAILED_PRECONDITION` for a name of an untrusted organisation; `NOT_FOUND`
   * when no valid record is in the DHT; `UNAVAILABLE` when no peer could be asked
   * @example
   * ```ts
   * const { peer, addrs } = await names.resolve('acme/prod/k8s')
   * ```
   */
  async resolve(name: string, options: AbortOptions = {}): Promise<NameRecord> {
    return await this.cache.get(name, () =>
      resolveNameFromDht(this.components.dht, name, {
        trust: this.init.trust,
        ...options,
        ...(this.init.revoked === undefined ? {} : { revoked: this.init.revoked }),
        ...(this.init.timeoutMs === undefined ? {} : { timeoutMs: this.init.timeoutMs }),
        ...(this.components.log === undefined ? {} : { log: this.components.log })
      })
    )
  }

  /**
   * Publish a signed record (see {@link publishNameRecord}); a record of a trusted name is checked
   * here first, so a bad one fails fast with the reason.
   *
   * @example
   * ```ts
   * await names.publish(await signNameRecord({ signer, name, addrs, ttl: 300_000, proofs }))
   * ```
   */
  async publish(signed: SignedNameRecord, options: PublishNameRecordOptions = {}): Promise<PublishResult> {
    const record = verifyNameRecord(signed, {
      trust: this.init.trust,
      ...(this.init.revoked === undefined ? {} : { revoked: this.init.revoked })
    })
    const result = await publishNameRecord(this.components.dht, signed, options)
    this.cache.offer(record)
    return result
  }

  /**
   * Forget the cached record of `name`, so the next resolve asks the DHT again.
   *
   * @example
   * ```ts
   * names.invalidate('acme/prod/k8s')
   * ```
   */
  invalidate(name: string): void {
    this.cache.invalidate(name)
  }

  /**
   * The cached record of `name`, if fresh (no network).
   *
   * @example
   * ```ts
   * names.cached('acme/prod/k8s')?.seq
   * ```
   */
  cached(name: string): NameRecord | undefined {
    return this.cache.cached(name)
  }
}

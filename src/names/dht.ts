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
  removePublicAddressesMapper
} from '@libp2p/kad-dht'
import type { AbortOptions, Logger } from '@libp2p/interface'
import { equals as equalBytes } from 'uint8arrays/equals'
import { MeshError } from '../errors.ts'
import { decodeInvocation, type RevocationStore } from '../ucan/index.ts'
import { DHT_NAMESPACE, DHT_PROTOCOL, DHT_PUBLISH_TIMEOUT_MS, DHT_RESOLVE_TIMEOUT_MS } from './constants.ts'
import {
  beats,
  type DhtRecordOptions,
  encodeNameRecordValue,
  nameKey,
  nameRecordSelector,
  nameRecordValidator,
  verifyDhtRecord
} from './dht-record.ts'
import { type NameRecord, type SignedNameRecord, verifyNameRecord } from './record.ts'
import { RecordCache } from './record-cache.ts'
import { assertName } from './syntax.ts'

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

import { CACHE_SIZE } from './constants.ts'
import type { Delegation } from './delegation.ts'
import type { Invocation } from './invocation.ts'
import type { ParsedPolicy } from './policy.ts'

/**
 * A Map that forgets its least recently used entries beyond `limit`. {@link UcanCache} is made of
 * three.
 *
 * @example
 * ```ts
 * import { BoundedMap } from 'agentmesh/ucan'
 *
 * const recent = new BoundedMap<string, number>(2)
 * recent.set('a', 1)
 * recent.set('b', 2)
 * recent.get('a') // a is now the most recently used
 * recent.set('c', 3) // over the limit: b, the least recently used, is forgotten
 * console.log(recent.get('b'), recent.get('a'), recent.size) // undefined 1 2
 * ```
 */
export class BoundedMap<K, V> {
  readonly #map = new Map<K, V>()
  /** Most entries kept (at least 1). */
  readonly limit: number

  /** An empty map that keeps at most `limit` entries (at least 1). */
  constructor(limit: number) {
    this.limit = Math.max(1, limit)
  }

  /** The value of `key`, which becomes the most recently used; `undefined` when absent. */
  get(key: K): V | undefined {
    const value = this.#map.get(key)
    if (value !== undefined) {
      this.#map.delete(key)
      this.#map.set(key, value)
    }
    return value
  }

  /** Set `key` as the most recently used entry, forgetting the least recently used one beyond `limit`. */
  set(key: K, value: V): void {
    this.#map.delete(key)
    this.#map.set(key, value)
    if (this.#map.size > this.limit) {
      const oldest = this.#map.keys().next()
      if (oldest.done !== true) this.#map.delete(oldest.value)
    }
  }

  /** How many entries are kept. */
  get size(): number {
    return this.#map.size
  }

  /** Forget every entry. */
  clear(): void {
    this.#map.clear()
  }
}

/**
 * The structure of a delegation chain, checked once: root, principal and subject alignment and
 * command attenuation. Time bounds, revocation and policies are checked on every use.
 */
export interface ChainStructure {
  /** The delegations, root first. */
  readonly delegations: readonly Delegation[]
  /** Their CIDs as strings, root first. */
  readonly cids: readonly string[]
  /** The root subject: the authority the chain is about. */
  readonly subject: string
  /** The last delegation's audience: who may invoke. */
  readonly audience: string
  /** The most attenuated command (the last delegation's). */
  readonly command: string
  /** Every policy of the chain, root first. */
  readonly policies: readonly ParsedPolicy[]
  /** Latest `nbf` of the chain. */
  readonly notBefore: number | undefined
  /** Earliest `exp` of the chain, `null` when none expires. */
  readonly expiration: number | null
}

/**
 * Validation cache keyed by token CID: tokens whose signature has been verified, and chains whose
 * structure has been checked. Entries are derived from content only (CIDs are recomputed from the
 * bytes), so one cache can be shared by every caller of a process.
 *
 * @example
 * ```ts
 * const cache = new UcanCache()
 * await validate(inv, { proofs, cache }) // verifies signatures
 * await validate(inv, { proofs, cache }) // policy evaluation only
 * ```
 */
export class UcanCache {
  /** Signature-verified delegations by CID. */
  readonly delegations: BoundedMap<string, Delegation>
  /** Signature-verified invocations by the sha2-256 digest of their bytes (base64). */
  readonly invocations: BoundedMap<string, Invocation>
  /** Checked chain structures by the CIDs of their delegations. */
  readonly chains: BoundedMap<string, ChainStructure>

  constructor(options: { size?: number } = {}) {
    const size = options.size ?? CACHE_SIZE
    this.delegations = new BoundedMap(size)
    this.invocations = new BoundedMap(size)
    this.chains = new BoundedMap(size)
  }

  /** Forget everything. */
  clear(): void {
    this.delegations.clear()
    this.invocations.clear()
    this.chains.clear()
  }
}

/**
 * The process-wide cache {@link validate} and {@link validateChain} use when given no `cache`.
 *
 * @example
 * ```ts
 * import { defaultCache, delegate, generateSigner, invoke, validate } from 'agentmesh/ucan'
 *
 * const acme = generateSigner()
 * const bot = generateSigner()
 * const expiration = Math.floor(Date.now() / 1000) + 60
 * const proof = await delegate({ issuer: acme, audience: bot.did, subject: acme.did, command: '/greet', expiration })
 * const inv = await invoke({ issuer: bot, subject: acme.did, command: '/greet', proofs: [proof], expiration })
 * await validate(inv.bytes, { proofs: [proof.bytes] }) // given no `cache`, validate uses defaultCache
 * console.log(defaultCache.delegations.size) // 1: the proof, its signature verified once
 * defaultCache.clear() // forget every verified token (between tests, say)
 * ```
 */
export const defaultCache = new UcanCache()

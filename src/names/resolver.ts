import { MeshError } from '../errors.ts'
import type { RevocationStore } from '../ucan/index.ts'
import { listRecords, lookupRecord, watchNames } from './directory-client.ts'
import { type NameRecord, verifyNameRecord } from './record.ts'
import { assertName } from './syntax.ts'
import type { AbortOptions, Connection, Logger } from '@libp2p/interface'

/** What a resolver needs: a way to reach each directory. */
export interface ResolverComponents {
  /** Open (or reuse) a connection to the relay at `addr`. */
  dial(addr: string, options?: AbortOptions): Promise<Connection>
  log?: Logger
}

/** Options of a {@link NameResolver}. */
export interface ResolverInit {
  /** Relay multiaddrs whose directories are asked, all in parallel. */
  relays: string[]
  /** Trusted authorities: organisation → did. A name of another organisation never resolves. */
  trust: Readonly<Record<string, string>>
  /** Revoked delegations: records resting on them never resolve. */
  revoked?: RevocationStore
}

/**
 * Resolves names by asking every relay's directory in parallel, verifying every answer itself (a
 * relay's word counts for nothing) and keeping the valid record with the highest `seq`. Caches each
 * record until it expires, is invalidated, or a watch says it changed.
 */
export class NameResolver {
  private readonly components: ResolverComponents
  private readonly init: ResolverInit
  private readonly cache = new Map<string, NameRecord>()
  private readonly pending = new Map<string, Promise<NameRecord>>()

  constructor(components: ResolverComponents, init: ResolverInit) {
    this.components = components
    this.init = init
  }

  /**
   * The verified record of `name`.
   *
   * @throws {MeshError} `NOT_FOUND` when no relay holds a valid record, `UNAVAILABLE` when none could be asked
   */
  async resolve(name: string, options: AbortOptions = {}): Promise<NameRecord> {
    assertName(name)
    const org = name.slice(0, name.indexOf('/'))
    if (!Object.hasOwn(this.init.trust, org)) {
      throw new MeshError('FAILED_PRECONDITION', `no trusted authority is configured for ${org}: add it to \`trust\``)
    }
    const cached = this.cache.get(name)
    if (cached !== undefined && cached.exp > Date.now()) return cached
    // concurrent resolves of one name share one round of lookups
    let pending = this.pending.get(name)
    if (pending === undefined) {
      pending = this.lookup(name, options).finally(() => this.pending.delete(name))
      this.pending.set(name, pending)
    }
    return await pending
  }

  /** Verify a record as this resolver would; undefined (and logged) when it does not hold up. */
  verify(value: unknown, name?: string): NameRecord | undefined {
    try {
      return verifyNameRecord(value, {
        trust: this.init.trust,
        ...(name === undefined ? {} : { name }),
        ...(this.init.revoked === undefined ? {} : { revoked: this.init.revoked })
      })
    } catch (err) {
      this.components.log?.('refused a record %s - %s', name ?? '', (err as Error).message)
      return undefined
    }
  }

  private async lookup(name: string, options: AbortOptions): Promise<NameRecord> {
    if (this.init.relays.length === 0) throw new MeshError('UNAVAILABLE', 'no relay is configured to resolve names')
    const answers = await Promise.allSettled(
      this.init.relays.map(async (relay) => lookupRecord(await this.components.dial(relay, options), name, options))
    )
    let best: NameRecord | undefined
    let answered = 0
    let lastError: unknown
    for (const answer of answers) {
      if (answer.status === 'rejected') {
        // NOT_FOUND, or an answer that is not even well formed: the relay answered, with nothing usable
        if (MeshError.is(answer.reason, 'NOT_FOUND') || MeshError.is(answer.reason, 'INVALID_ARGUMENT')) answered++
        else lastError = answer.reason
        continue
      }
      answered++
      const record = this.verify(answer.value, name)
      if (record !== undefined && (best === undefined || record.seq > best.seq)) best = record
    }
    if (best !== undefined) {
      this.cache.set(name, best)
      return best
    }
    if (answered > 0) throw new MeshError('NOT_FOUND', `no valid record of ${name} was found`)
    throw new MeshError('UNAVAILABLE', `no relay could resolve ${name}`, { cause: lastError })
  }

  /**
   * The verified records under `prefix` from every relay (newest per name).
   *
   * @example
   * ```ts
   * for (const record of await resolver.list('acme/prod')) console.info(record.name, record.peer)
   * ```
   */
  async list(prefix: string, options: AbortOptions = {}): Promise<NameRecord[]> {
    const answers = await Promise.allSettled(
      this.init.relays.map(async (relay) => listRecords(await this.components.dial(relay, options), prefix, options))
    )
    const best = new Map<string, NameRecord>()
    for (const answer of answers) {
      if (answer.status === 'rejected') continue
      for (const value of answer.value) {
        const record = this.verify(value)
        if (record === undefined) continue
        const held = best.get(record.name)
        if (held === undefined || record.seq > held.seq) best.set(record.name, record)
      }
    }
    return [...best.values()].sort((a, b) => a.name.localeCompare(b.name))
  }

  /**
   * Watch `prefix` on every relay and keep the cache true: an update with a valid newer record
   * replaces the cached one, an expiry drops it. Runs until `signal` aborts.
   */
  async watch(prefix: string, options: AbortOptions & { onChange?: (name: string) => void } = {}): Promise<void> {
    await Promise.allSettled(
      this.init.relays.map(async (relay) =>
        watchNames(
          await this.components.dial(relay, options),
          prefix,
          (event) => {
            if (event.kind === 'expire') {
              this.cache.delete(event.name)
            } else {
              const record = this.verify(event.record, event.name)
              const held = this.cache.get(event.name)
              if (record === undefined) return
              if (held === undefined || record.seq > held.seq) this.cache.set(event.name, record)
            }
            options.onChange?.(event.name)
          },
          options
        )
      )
    )
  }

  /** Forget the cached record of `name`, so the next resolve asks the relays again. */
  invalidate(name: string): void {
    this.cache.delete(name)
  }

  /** The cached record of `name`, if fresh (no network). */
  cached(name: string): NameRecord | undefined {
    const record = this.cache.get(name)
    return record !== undefined && record.exp > Date.now() ? record : undefined
  }
}

import { MeshError } from '../errors.ts'
import type { RevocationStore } from '../ucan/index.ts'
import { listRecords, lookupRecord, watchNames } from './directory-client.ts'
import { type NameRecord, verifyNameRecord } from './record.ts'
import { RecordCache } from './record-cache.ts'
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
  private readonly cache: RecordCache

  constructor(components: ResolverComponents, init: ResolverInit) {
    this.components = components
    this.init = init
    this.cache = new RecordCache(init.trust)
  }

  /**
   * The verified record of `name`.
   *
   * @throws {MeshError} `NOT_FOUND` when no relay holds a valid record, `UNAVAILABLE` when none could be asked
   */
  async resolve(name: string, options: AbortOptions = {}): Promise<NameRecord> {
    return await this.cache.get(name, () => this.lookup(name, options))
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
    if (best !== undefined) return best
    if (answered > 0) throw new MeshError('NOT_FOUND', `no valid record of ${name} was found`)
    throw new MeshError('UNAVAILABLE', `no relay could resolve ${name}`, { cause: lastError })
  }

  /**
   * The verified records under `prefix` from every relay (newest per name).
   *
   * @example
   * ```ts
   * const names = (await resolver.list('acme/prod')).map((record) => record.name)
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
              this.cache.invalidate(event.name)
            } else {
              const record = this.verify(event.record, event.name)
              if (record === undefined) return
              this.cache.offer(record)
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
    this.cache.invalidate(name)
  }

  /** The cached record of `name`, if fresh (no network). */
  cached(name: string): NameRecord | undefined {
    return this.cache.cached(name)
  }
}

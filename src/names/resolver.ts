import { MeshError } from '../errors.ts'
import { lookupName } from './directory-client.ts'
import type { NameRecord } from './messages.ts'
import { assertName } from './syntax.ts'
import type { AbortOptions, Connection } from '@libp2p/interface'

/** What a resolver needs: a way to reach each directory. */
export interface ResolverComponents {
  /** Open (or reuse) a connection to the relay at `addr`. */
  dial(addr: string, options?: AbortOptions): Promise<Connection>
}

/** Options of a {@link NameResolver}. */
export interface ResolverInit {
  /** Relay multiaddrs whose directories are asked. */
  relays: string[]
}

/**
 * Resolves names by asking every relay's directory in parallel and keeping the answer with the
 * latest expiry; caches each record until it expires or is invalidated.
 */
export class NameResolver {
  private readonly components: ResolverComponents
  private readonly relays: string[]
  private readonly cache = new Map<string, NameRecord>()
  private readonly pending = new Map<string, Promise<NameRecord>>()

  constructor(components: ResolverComponents, init: ResolverInit) {
    this.components = components
    this.relays = init.relays
  }

  /**
   * The record of `name`.
   *
   * @throws {MeshError} `NOT_FOUND` when no relay knows it, `UNAVAILABLE` when none could be asked
   */
  async resolve(name: string, options: AbortOptions = {}): Promise<NameRecord> {
    assertName(name)
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

  private async lookup(name: string, options: AbortOptions): Promise<NameRecord> {
    if (this.relays.length === 0)
      throw new MeshError('UNAVAILABLE', 'no relay is configured to resolve names')
    const answers = await Promise.allSettled(
      this.relays.map(async (relay) => lookupName(await this.components.dial(relay, options), name, options))
    )
    let best: NameRecord | undefined
    let notFound = 0
    let lastError: unknown
    for (const answer of answers) {
      if (answer.status === 'fulfilled') {
        if (best === undefined || answer.value.exp > best.exp) best = answer.value
      } else if (MeshError.is(answer.reason, 'NOT_FOUND')) {
        notFound++
      } else {
        lastError = answer.reason
      }
    }
    if (best !== undefined) {
      this.cache.set(name, best)
      return best
    }
    if (notFound > 0) throw new MeshError('NOT_FOUND', `no agent is registered as ${name}`)
    throw new MeshError('UNAVAILABLE', `no relay could resolve ${name}`, { cause: lastError })
  }

  /** Forget the cached record of `name`, so the next resolve asks the relays again. */
  invalidate(name: string): void {
    this.cache.delete(name)
  }
}

import { MeshError } from '../errors.ts'
import type { NameRecord } from './record.ts'
import { assertName } from './syntax.ts'

/**
 * What every resolver keeps: verified records until they expire, one lookup shared by concurrent
 * resolves of a name, and the rule that only names of a trusted organisation resolve at all.
 */
export class RecordCache {
  private readonly trust: Readonly<Record<string, string>>
  private readonly records = new Map<string, NameRecord>()
  private readonly pending = new Map<string, Promise<NameRecord>>()

  constructor(trust: Readonly<Record<string, string>>) {
    this.trust = trust
  }

  /**
   * The cached record of `name`, or the result of `lookup` (shared by concurrent callers), cached.
   *
   * @throws {MeshError} `INVALID_ARGUMENT` for a malformed name, `FAILED_PRECONDITION` for a name of
   * an organisation with no trusted authority, or whatever `lookup` throws
   */
  async get(name: string, lookup: () => Promise<NameRecord>): Promise<NameRecord> {
    assertName(name)
    const org = name.slice(0, name.indexOf('/'))
    if (!Object.hasOwn(this.trust, org)) {
      throw new MeshError('FAILED_PRECONDITION', `no trusted authority is configured for ${org}: add it to \`trust\``)
    }
    const cached = this.cached(name)
    if (cached !== undefined) return cached
    let pending = this.pending.get(name)
    if (pending === undefined) {
      pending = lookup()
        .then((record) => {
          this.offer(record)
          return record
        })
        .finally(() => this.pending.delete(name))
      this.pending.set(name, pending)
    }
    return await pending
  }

  /** Keep `record` when it is newer than the one held. */
  offer(record: NameRecord): void {
    const held = this.records.get(record.name)
    if (held === undefined || record.seq > held.seq || held.exp <= Date.now()) this.records.set(record.name, record)
  }

  /** The cached record of `name`, if fresh. */
  cached(name: string): NameRecord | undefined {
    const record = this.records.get(name)
    return record !== undefined && record.exp > Date.now() ? record : undefined
  }

  /** Forget `name`. */
  invalidate(name: string): void {
    this.records.delete(name)
  }
}

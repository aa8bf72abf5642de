import type { CID } from 'multiformats/cid'

/**
 * Where {@link validate} learns which delegations were revoked. Lookups are synchronous because
 * they run on the agent's hot path; a persistent store keeps an in-memory index of revoked CIDs.
 */
export interface RevocationStore {
  /** True when the delegation with this CID (string form) is revoked. */
  isRevoked(cid: string): boolean
}

/**
 * An in-memory {@link RevocationStore}.
 *
 * @example
 * ```ts
 * const revoked = new MemoryRevocationStore()
 * revoked.revoke(dlg.cid)
 * await validate(inv, { proofs, revoked }) // throws UcanError 'Revoked'
 * ```
 */
export class MemoryRevocationStore implements RevocationStore {
  readonly #revoked = new Set<string>()

  constructor(cids: Iterable<CID | string> = []) {
    for (const cid of cids) this.revoke(cid)
  }

  /** Mark a delegation as revoked. */
  revoke(cid: CID | string): void {
    this.#revoked.add(cid.toString())
  }

  /** Forget a revocation (e.g. one recorded by mistake). */
  unrevoke(cid: CID | string): boolean {
    return this.#revoked.delete(cid.toString())
  }

  isRevoked(cid: string): boolean {
    return this.#revoked.has(cid)
  }

  /** How many CIDs are revoked. */
  get size(): number {
    return this.#revoked.size
  }
}

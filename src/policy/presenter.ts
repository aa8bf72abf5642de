import type { Connection } from '@libp2p/interface'
import { MeshError } from '../errors.ts'
import type { Ed25519Signer } from '../identity/index.ts'
import { type Delegation, decodeDelegation, findChain, invoke } from '../ucan/index.ts'
import { MAX_PROOFS_PER_CALL, SIGNED_INVOCATION_TTL_SECONDS } from './constants.ts'
import type { UcanAuth } from './ucan-authorizer.ts'

/** The caller's side of authority: the delegations it holds, and the `auth` field of each call. */
export class CapabilityPresenter {
  private readonly signer: Ed25519Signer
  private readonly held = new Map<string, Delegation>()
  private readonly sent = new WeakMap<Connection, { cids: Set<string>; generation: number }>()
  /** Bumped whenever proofs are added, so that new onward delegations get presented. */
  private generation = 0
  /** The chain found for each command, until a proof is added or a link of it expires. */
  private readonly chains = new Map<string, { chain: Delegation[] | undefined; until: number }>()

  constructor(signer: Ed25519Signer, proofs: ReadonlyArray<Delegation | Uint8Array> = []) {
    this.signer = signer
    this.add(proofs)
  }

  /** Hold more delegations (decoded and checked for shape; verified by whoever relies on them). */
  add(proofs: ReadonlyArray<Delegation | Uint8Array>): void {
    for (const proof of proofs) {
      const delegation = proof instanceof Uint8Array ? decodeDelegation(proof) : proof
      this.held.set(delegation.cid.toString(), delegation)
    }
    this.chains.clear()
    this.generation++
  }

  private chainFor(cmd: string, now: number): Delegation[] | undefined {
    const hit = this.chains.get(cmd)
    if (hit !== undefined && hit.until > now) return hit.chain
    const chain = findChain(this.held.values(), this.signer.did, cmd, now)
    const until = Math.min(...(chain ?? []).map((d) => d.payload.exp ?? Number.POSITIVE_INFINITY), now + 60)
    this.chains.set(cmd, { chain, until })
    return chain
  }

  /** Every delegation held. */
  delegations(): Delegation[] {
    return [...this.held.values()]
  }

  /**
   * The `auth` field for calling `cmd` with `args` on `connection`: the shortest chain granting this
   * agent `cmd`, by CID, plus the tokens not yet presented on that connection. `extra` delegations
   * (handed over by a caller for onward calls) are searched too. Undefined when no chain is held:
   * the call then goes without authority and the agent decides. Synchronous unless a signed
   * invocation is asked for (that needs a signature).
   */
  authFor(
    connection: Connection,
    cmd: string,
    args: unknown,
    options: { audience: string; signed?: boolean; extra?: ReadonlyArray<Delegation | Uint8Array> }
  ): UcanAuth | undefined | Promise<UcanAuth> {
    const now = Math.floor(Date.now() / 1000)
    const extra = options.extra ?? []
    let pool: Map<string, Delegation> = this.held
    let chain: Delegation[] | undefined
    if (extra.length === 0) {
      chain = this.chainFor(cmd, now)
    } else {
      pool = new Map(this.held)
      for (const proof of extra) {
        const d = proof instanceof Uint8Array ? decodeDelegation(proof) : proof
        pool.set(d.cid.toString(), d)
      }
      chain = findChain(pool.values(), this.signer.did, cmd, now)
    }
    if (chain === undefined) return undefined
    let state = this.sent.get(connection)
    if (state === undefined) {
      state = { cids: new Set(), generation: -1 }
      this.sent.set(connection, state)
    }
    const sent = state.cids
    let dlg: Delegation[] = []
    // the common case, nothing new since the last call on this connection, skips the scan
    if (state.generation !== this.generation || extra.length > 0 || chain.some((d) => !sent.has(d.cid.toString()))) {
      const fresh = chain.filter((d) => !sent.has(d.cid.toString()))
      // onward delegations the callee needs to act further on our behalf travel with the call too
      const handedOver = [...pool.values()].filter(
        (d) => d.payload.iss === this.signer.did && d.payload.aud === options.audience && !sent.has(d.cid.toString())
      )
      // a hand-over is only worth something with the links above it: our own chain for its command
      const onward = handedOver.flatMap((d) => [...(findChain(pool.values(), this.signer.did, d.payload.cmd, now) ?? []), d])
      // the caller's other authority in the same command namespace, for the derived actions the
      // agent will check (a /sql/query call may derive /sql/select and /sql/update actions)
      const namespace = cmd.split('/')[1] ?? ''
      const related = [...this.held.values()].filter(
        (d) => d.payload.aud === this.signer.did && d.payload.cmd.split('/')[1] === namespace
      )
      const relatedChains = related.flatMap((d) => findChain(pool.values(), this.signer.did, d.payload.cmd, now) ?? [])
      dlg = [...new Set([...fresh, ...onward, ...relatedChains])]
        .filter((d) => !sent.has(d.cid.toString()))
        .slice(0, MAX_PROOFS_PER_CALL)
      for (const d of dlg) sent.add(d.cid.toString())
      if (extra.length === 0) state.generation = this.generation
    }
    const auth: UcanAuth = { prf: chain.map((d) => d.cid) }
    if (dlg.length > 0) auth.dlg = dlg.map((d) => d.bytes)
    if (options.signed === true) {
      if (typeof args !== 'object' || args === null || Array.isArray(args) || args instanceof Uint8Array) {
        throw new MeshError('INVALID_ARGUMENT', 'a signed invocation needs its arguments as a map')
      }
      const root = chain[0]!
      return invoke({
        issuer: this.signer,
        subject: root.payload.sub ?? root.payload.iss,
        audience: options.audience,
        command: cmd,
        args: args as Record<string, unknown>,
        proofs: chain,
        expiration: now + SIGNED_INVOCATION_TTL_SECONDS,
        issuedAt: now
      }).then((inv) => {
        auth.inv = inv.bytes
        return auth
      })
    }
    return auth
  }

  /** Forget what was presented on `connection` (after the agent lost it, for example). */
  forget(connection: Connection): void {
    this.sent.delete(connection)
  }
}

import type { ChainStructure } from './cache.ts'
import { commandProves, isCommand } from './command.ts'
import { CLOCK_SKEW_SECONDS, MAX_CHAIN_LENGTH } from './constants.ts'
import type { Delegation } from './delegation.ts'
import { UcanError } from './errors.ts'
import { evaluatePolicy, type ParsedPolicy } from './policy.ts'
import type { RevocationStore } from './revocation.ts'

/**
 * Check the structure of a delegation chain (root first): the root is issued by its subject (not
 * a powerline), each `aud` is the next `iss`, every subject is the root's (or `null`), and each
 * command attenuates its parent's.
 */
export function checkChainStructure(delegations: readonly Delegation[]): ChainStructure {
  if (delegations.length === 0) throw new UcanError('InvalidClaim', 'no delegation proves the invocation')
  if (delegations.length > MAX_CHAIN_LENGTH) {
    throw new UcanError('InvalidClaim', `delegation chain is longer than ${MAX_CHAIN_LENGTH}`)
  }
  const root = delegations[0]!.payload
  if (root.sub === null) {
    throw new UcanError(
      'InvalidClaim',
      'the root delegation is a powerline (sub: null), which proves nothing'
    )
  }
  if (root.iss !== root.sub) {
    throw new UcanError('InvalidClaim', 'the root delegation is not issued by its subject', {
      details: { cid: delegations[0]!.cid.toString() }
    })
  }
  const subject = root.sub
  let notBefore = root.nbf
  let expiration = root.exp
  for (let i = 1; i < delegations.length; i++) {
    const parent = delegations[i - 1]!.payload
    const child = delegations[i]!.payload
    const details = { cid: delegations[i]!.cid.toString(), index: i }
    if (child.iss !== parent.aud) {
      throw new UcanError('InvalidAudience', 'a delegation is not issued by the audience of its proof', {
        details
      })
    }
    if (child.sub !== null && child.sub !== subject) {
      throw new UcanError('InvalidSubject', 'a delegation is about another subject than its chain', {
        details
      })
    }
    if (!commandProves(parent.cmd, child.cmd)) {
      throw new UcanError('InvalidClaim', `${parent.cmd} does not prove ${child.cmd}`, { details })
    }
    if (child.nbf !== undefined && (notBefore === undefined || child.nbf > notBefore)) notBefore = child.nbf
    if (child.exp !== null && (expiration === null || child.exp < expiration)) expiration = child.exp
  }
  const leaf = delegations[delegations.length - 1]!.payload
  return {
    delegations,
    cids: delegations.map((d) => d.cid.toString()),
    subject,
    audience: leaf.aud,
    command: leaf.cmd,
    policies: delegations.map((d) => d.policy),
    notBefore,
    expiration
  }
}

/** Clock options shared by validation and derived-action checks. */
export interface ClockOptions {
  /** The current time in Unix seconds. @default the system clock */
  now?: number
  /** Tolerated clock difference in seconds. @default CLOCK_SKEW_SECONDS (60) */
  clockSkew?: number
}

/** Current Unix time in seconds. */
export function unixNow(): number {
  return Math.floor(Date.now() / 1000)
}

/** Throw `Expired` or `TooEarly` unless `now` is within the bounds (widened by the skew). */
export function checkTimeBounds(
  what: string,
  expiration: number | null,
  notBefore: number | undefined,
  clock: ClockOptions
): void {
  const now = clock.now ?? unixNow()
  const skew = clock.clockSkew ?? CLOCK_SKEW_SECONDS
  if (expiration !== null && now - skew > expiration) {
    throw new UcanError('Expired', `${what} expired at ${expiration}`, { details: { exp: expiration, now } })
  }
  if (notBefore !== undefined && now + skew < notBefore) {
    throw new UcanError('TooEarly', `${what} is not valid before ${notBefore}`, {
      details: { nbf: notBefore, now }
    })
  }
}

/**
 * A validated delegation chain, ready to check more actions on behalf of the same caller without
 * verifying any signature again. A chain with no delegations is the subject acting for itself.
 * {@link validate} returns one as `chain`.
 *
 * @example
 * ```ts
 * import { delegate, generateSigner, invoke, validate } from 'agentmesh/ucan'
 *
 * const acme = generateSigner()
 * const orchestrator = generateSigner()
 * const expiration = Math.floor(Date.now() / 1000) + 3600
 * const mayUseK8s = await delegate({
 *   issuer: acme,
 *   audience: orchestrator.did,
 *   subject: acme.did,
 *   command: '/k8s',
 *   policy: [['<=', '.replicas', 10]],
 *   expiration
 * })
 * const inv = await invoke({
 *   issuer: orchestrator,
 *   subject: acme.did,
 *   command: '/k8s/scale',
 *   args: { replicas: 3 },
 *   proofs: [mayUseK8s],
 *   expiration
 * })
 * const { chain } = await validate(inv.bytes, { proofs: [mayUseK8s.bytes], trusted: [acme.did] })
 * console.log(chain.subject === acme.did, chain.holder === orchestrator.did) // true true
 * // derived actions, checked with no signature verified again
 * console.log(chain.allows('/k8s/patch', { replicas: 5 })) // true: /k8s covers /k8s/patch
 * console.log(chain.allows('/k8s/scale', { replicas: 50 })) // false: the policy caps replicas at 10
 * console.log(chain.allows('/db/query', { replicas: 1 })) // false: outside /k8s
 * ```
 */
export class ValidatedChain {
  /** The authority the chain is about (the root `sub`). */
  readonly subject: string
  /** The principal the chain grants to (the last `aud`; the subject itself when no delegations). */
  readonly holder: string
  /** The delegations, root first (empty when the subject acts for itself). */
  readonly delegations: readonly Delegation[]
  /** Their CIDs, root first. */
  readonly cids: readonly string[]
  /** The most attenuated command (`/` when the subject acts for itself). */
  readonly command: string
  /** Every policy of the chain, root first. */
  readonly policies: readonly ParsedPolicy[]
  /** Latest `nbf` in the chain. */
  readonly notBefore: number | undefined
  /** Earliest `exp` in the chain (`null`: never expires). */
  readonly expiration: number | null
  readonly #revoked: RevocationStore | undefined
  readonly #clockSkew: number

  constructor(
    structure: ChainStructure | { subject: string },
    options: { revoked?: RevocationStore | undefined; clockSkew?: number | undefined } = {}
  ) {
    if ('delegations' in structure) {
      this.subject = structure.subject
      this.holder = structure.audience
      this.delegations = structure.delegations
      this.cids = structure.cids
      this.command = structure.command
      this.policies = structure.policies
      this.notBefore = structure.notBefore
      this.expiration = structure.expiration
    } else {
      this.subject = structure.subject
      this.holder = structure.subject
      this.delegations = []
      this.cids = []
      this.command = '/'
      this.policies = []
      this.notBefore = undefined
      this.expiration = null
    }
    this.#revoked = options.revoked
    this.#clockSkew = options.clockSkew ?? CLOCK_SKEW_SECONDS
  }

  /**
   * Check an action against this chain; throws the reason it is refused (`InvalidClaim` for a
   * command outside the chain, `MatchError` for arguments a policy refuses, `Expired`, `TooEarly`,
   * `Revoked`).
   *
   * @example
   * ```ts
   * chain.authorize('/k8s/apps/deployments/patch', { namespace: 'prod', replicas: 3 })
   * ```
   */
  authorize(cmd: string, args: unknown, clock: ClockOptions = {}): void {
    if (!isCommand(cmd)) throw new UcanError('InvalidCommand', `not a valid command: ${JSON.stringify(cmd)}`)
    if (!commandProves(this.command, cmd)) {
      throw new UcanError('InvalidClaim', `${this.command} does not prove ${cmd}`, { details: { cmd } })
    }
    checkTimeBounds('the delegation chain', this.expiration, this.notBefore, {
      now: clock.now,
      clockSkew: clock.clockSkew ?? this.#clockSkew
    })
    if (this.#revoked !== undefined) {
      for (const cid of this.cids) {
        if (this.#revoked.isRevoked(cid))
          throw new UcanError('Revoked', `delegation ${cid} is revoked`, { details: { cid } })
      }
    }
    for (let i = 0; i < this.policies.length; i++) {
      if (!evaluatePolicy(this.policies[i]!, args)) {
        throw new UcanError('MatchError', 'the arguments do not satisfy a policy of the chain', {
          details: { cid: this.cids[i], cmd }
        })
      }
    }
  }

  /**
   * True when the chain allows `cmd` with `args` now. Never throws.
   *
   * @example
   * ```ts
   * if (!chain.allows('/k8s/scale', { replicas: 50 })) deny()
   * ```
   */
  allows(cmd: string, args: unknown, clock: ClockOptions = {}): boolean {
    try {
      this.authorize(cmd, args, clock)
      return true
    } catch {
      return false
    }
  }
}

/**
 * Check a derived action against an already validated chain (same as `chain.allows`).
 *
 * @example
 * ```ts
 * const { chain } = await validate(inv, { proofs })
 * checkChain(chain, '/k8s/apps/deployments/patch', { replicas: 3 }) // boolean
 * ```
 */
export function checkChain(
  chain: ValidatedChain,
  cmd: string,
  args: unknown,
  clock: ClockOptions = {}
): boolean {
  return chain.allows(cmd, args, clock)
}

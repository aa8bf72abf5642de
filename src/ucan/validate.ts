import { CID } from 'multiformats/cid'
import { type ChainStructure, defaultCache, type UcanCache } from './cache.ts'
import { digestKey, tokenCid } from './cbor.ts'
import { checkChainStructure, checkTimeBounds, type ClockOptions, ValidatedChain } from './chain.ts'
import { commandProves } from './command.ts'
import { CLOCK_SKEW_SECONDS } from './constants.ts'
import { type Delegation, decodeDelegation } from './delegation.ts'
import { UcanError } from './errors.ts'
import { decodeInvocation, type Invocation } from './invocation.ts'
import type { RevocationStore } from './revocation.ts'
import { verifySignature } from './token.ts'

/** Delegations offered as proofs: tokens or their bytes, as a list or keyed by CID string. */
export type ProofSource = Iterable<Delegation | Uint8Array> | ReadonlyMap<string, Delegation | Uint8Array>

/** Options of {@link validate}. */
export interface ValidateOptions extends ClockOptions {
  /** Delegations the invocation's `prf` may refer to (in any order). @default [] */
  proofs?: ProofSource
  /** When given, the chain's root subject must be one of these DIDs. */
  trusted?: Iterable<string>
  /** Revoked delegations. */
  revoked?: RevocationStore
  /** Cache of verified tokens and chains; `false` to verify everything every time. @default a process-wide cache */
  cache?: UcanCache | false
  /** When given, the invocation must be meant for this executor (`aud`, or `sub` when no `aud`). */
  audience?: string
}

/** What {@link validate} returns: the invocation, who is acting for whom, and the checked chain. */
export interface ValidatedInvocation {
  readonly invocation: Invocation
  /** The invoker (`iss`). */
  readonly issuer: string
  /** The authority acted for (root `sub`). */
  readonly subject: string
  readonly command: string
  readonly args: Record<string, unknown>
  /** The chain, reusable for derived actions: `chain.allows(cmd, args)`. */
  readonly chain: ValidatedChain
  /** Same as `chain.allows(cmd, args)`. */
  allows(cmd: string, args: unknown, clock?: ClockOptions): boolean
}

function toTrustedSet(trusted: Iterable<string> | undefined): ReadonlySet<string> | undefined {
  if (trusted === undefined) return undefined
  return trusted instanceof Set ? (trusted as ReadonlySet<string>) : new Set(trusted)
}

function verifiedInvocation(input: Invocation | Uint8Array, cache: UcanCache | undefined): Invocation {
  const bytes = input instanceof Uint8Array ? input : input.bytes
  const key = digestKey(bytes)
  const hit = cache?.invocations.get(key)
  if (hit !== undefined) return hit
  // always re-decode from bytes: the CID and payload are recomputed, never taken on trust
  const invocation = decodeInvocation(bytes)
  if (!verifySignature(invocation)) {
    throw new UcanError('InvalidSignature', 'the invocation signature does not verify', {
      details: { cid: invocation.cid.toString() }
    })
  }
  cache?.invocations.set(key, invocation)
  return invocation
}

class ProofIndex {
  readonly #source: ProofSource | undefined
  #byCid: Map<string, Delegation | Uint8Array> | undefined

  constructor(source: ProofSource | undefined) {
    this.#source = source
  }

  get(cid: string): Delegation | Uint8Array | undefined {
    const source = this.#source
    if (source === undefined) return undefined
    if (source instanceof Map) return (source as ReadonlyMap<string, Delegation | Uint8Array>).get(cid)
    if (this.#byCid === undefined) {
      this.#byCid = new Map()
      for (const item of source as Iterable<Delegation | Uint8Array>) {
        const bytes = item instanceof Uint8Array ? item : item.bytes
        this.#byCid.set(tokenCid(bytes).toString(), item)
      }
    }
    return this.#byCid.get(cid)
  }
}

function verifiedDelegation(cid: CID, proofs: ProofIndex, cache: UcanCache | undefined): Delegation {
  const key = cid.toString()
  const hit = cache?.delegations.get(key)
  if (hit !== undefined) return hit
  const found = proofs.get(key)
  if (found === undefined) {
    throw new UcanError('UnavailableProof', `proof ${key} is not available`, { details: { cid: key } })
  }
  const bytes = found instanceof Uint8Array ? found : found.bytes
  // the CID is recomputed from the bytes: a token that does not hash to its link is not the proof
  const delegation = decodeDelegation(bytes)
  if (!delegation.cid.equals(cid)) {
    throw new UcanError('UnavailableProof', `proof ${key} does not hash to its CID`, {
      details: { cid: key }
    })
  }
  if (!verifySignature(delegation)) {
    throw new UcanError('InvalidSignature', `the signature of proof ${key} does not verify`, {
      details: { cid: key }
    })
  }
  cache?.delegations.set(key, delegation)
  return delegation
}

function chainFor(invocation: Invocation, proofs: ProofIndex, cache: UcanCache | undefined): ChainStructure {
  const prf = invocation.payload.prf
  const key = prf.map((c) => c.toString()).join(',')
  const hit = cache?.chains.get(key)
  if (hit !== undefined) return hit
  const delegations = prf.map((cid) => verifiedDelegation(cid, proofs, cache))
  const structure = checkChainStructure(delegations)
  cache?.chains.set(key, structure)
  return structure
}

/**
 * Validate an invocation and its delegation chain, as the UCAN spec says: signatures, principal
 * alignment (root first: each `aud` is the next `iss`, the last `aud` is the invoker), subject
 * alignment, time bounds (with clock skew), command attenuation, revocation, and every policy of
 * the chain applied to `args`. Throws a {@link UcanError} whose `reason` names the failure.
 *
 * Verified tokens and checked chains are cached by CID, so validating again an invocation whose
 * proofs are known costs policy evaluation only.
 *
 * @example
 * ```ts
 * const ok = validateSync(invocationBytes, { proofs: [rootBytes, childBytes], trusted: [authority.did] })
 * ok.subject          // the authority
 * ok.allows('/k8s/apps/deployments/patch', { replicas: 3 })
 * ```
 */
export function validateSync(
  input: Invocation | Uint8Array,
  options: ValidateOptions = {}
): ValidatedInvocation {
  const cache = options.cache === false ? undefined : (options.cache ?? defaultCache)
  const clock: ClockOptions = { now: options.now, clockSkew: options.clockSkew ?? CLOCK_SKEW_SECONDS }
  const invocation = verifiedInvocation(input, cache)
  const inv = invocation.payload
  if (options.audience !== undefined && (inv.aud ?? inv.sub) !== options.audience) {
    throw new UcanError('InvalidAudience', 'the invocation is meant for another executor')
  }

  let chain: ValidatedChain
  if (inv.prf.length === 0) {
    if (inv.iss !== inv.sub) {
      throw new UcanError('InvalidClaim', 'no proof: only the subject may invoke without delegations')
    }
    chain = new ValidatedChain({ subject: inv.sub }, { revoked: options.revoked, clockSkew: clock.clockSkew })
  } else {
    const structure = chainFor(invocation, new ProofIndex(options.proofs), cache)
    if (inv.iss !== structure.audience) {
      throw new UcanError('InvalidAudience', 'the invoker is not the audience of the last delegation')
    }
    if (inv.sub !== structure.subject) {
      throw new UcanError('InvalidSubject', 'the invocation subject is not the subject of its chain')
    }
    if (!commandProves(structure.command, inv.cmd)) {
      throw new UcanError('InvalidClaim', `${structure.command} does not prove ${inv.cmd}`)
    }
    chain = new ValidatedChain(structure, { revoked: options.revoked, clockSkew: clock.clockSkew })
  }
  checkTimeBounds('the invocation', inv.exp, undefined, clock)

  const trusted = toTrustedSet(options.trusted)
  if (trusted !== undefined && !trusted.has(chain.subject)) {
    throw new UcanError('InvalidSubject', 'the chain is not rooted in a trusted authority', {
      details: { subject: chain.subject }
    })
  }
  // revocation, time and policies: the same check a derived action gets
  chain.authorize(inv.cmd, inv.args, clock)

  return {
    invocation,
    issuer: inv.iss,
    subject: chain.subject,
    command: inv.cmd,
    args: inv.args,
    chain,
    allows: (cmd, args, c) => chain.allows(cmd, args, c)
  }
}

/**
 * Validate an invocation and its chain; the asynchronous form of {@link validateSync}.
 *
 * @example
 * ```ts
 * const { subject, chain } = await validate(inv, { proofs, now: 1767225600, revoked })
 * chain.allows('/msg/send', { to: 'bob@example.com' })
 * ```
 */
export async function validate(
  input: Invocation | Uint8Array,
  options: ValidateOptions = {}
): Promise<ValidatedInvocation> {
  return validateSync(input, options)
}

/** Options of {@link validateChain}: those of {@link validate}, plus who must hold the chain. */
export interface ValidateChainOptions extends Omit<ValidateOptions, 'audience'> {
  /** The principal the chain must grant to (the last `aud`), for example a connection's proven peer. */
  holder: string
}

/**
 * Validate a delegation chain given by reference (its CIDs, root first) for a holder whose identity
 * is already proven another way (a noise-authenticated connection), without a signed invocation:
 * signatures (once, then cached), principal and subject alignment, command attenuation, trusted
 * root and time bounds. Check each action with the returned chain's `authorize(cmd, args)`.
 *
 * @example
 * ```ts
 * const chain = validateChain([root.cid, child.cid], { holder: callerDid, proofs, trusted: [authority.did] })
 * chain.authorize('/k8s/scale', { replicas: 3 })
 * ```
 */
export function validateChain(prf: ReadonlyArray<CID | string>, options: ValidateChainOptions): ValidatedChain {
  const cache = options.cache === false ? undefined : (options.cache ?? defaultCache)
  const clockSkew = options.clockSkew ?? CLOCK_SKEW_SECONDS
  if (prf.length === 0) throw new UcanError('InvalidClaim', 'no delegation chain was presented')
  const cids = prf.map((c) => (typeof c === 'string' ? CID.parse(c) : c))
  const key = cids.map((c) => c.toString()).join(',')
  const proofs = new ProofIndex(options.proofs)
  let structure = cache?.chains.get(key)
  if (structure === undefined) {
    structure = checkChainStructure(cids.map((cid) => verifiedDelegation(cid, proofs, cache)))
    cache?.chains.set(key, structure)
  }
  if (structure.audience !== options.holder) {
    throw new UcanError('InvalidAudience', 'the chain is not delegated to this caller')
  }
  const trusted = toTrustedSet(options.trusted)
  if (trusted !== undefined && !trusted.has(structure.subject)) {
    throw new UcanError('InvalidSubject', 'the chain is not rooted in a trusted authority', {
      details: { subject: structure.subject }
    })
  }
  return new ValidatedChain(structure, { revoked: options.revoked, clockSkew })
}

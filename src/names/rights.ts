import { readFile, writeFile } from 'node:fs/promises'
import { MeshError } from '../errors.ts'
import type { Signer } from '../identity/index.ts'
import { type Delegation, decodeContainer, decodeDelegation, delegate, encodeContainer } from '../ucan/index.ts'
import { NAME_COMMAND } from './constants.ts'
import { assertName } from './syntax.ts'

/** Options of {@link grantName}. */
export interface GrantNameOptions {
  /** Who grants: the organisation's authority, or a sub-authority holding a right over a subtree. */
  issuer: Signer
  /** Who receives the right: an agent's did, or a sub-authority's did. */
  audience: string
  /** The organisation's authority did (the chain's subject); the issuer's own did when it is the authority. */
  subject?: string
  /** One name (`acme/prod/k8s`) or a subtree (`acme/prod/*`). */
  name: string
  /** Expiry in Unix seconds; `null` for none (discouraged). */
  expiration: number | null
}

/**
 * Grant the right to a name, or to every name of a subtree: a UCAN delegation with command
 * `/agentmesh/name` and a policy pinning `.name` (`==` for one name, `like` for a subtree).
 * Chains of grants attenuate: a sub-authority for `acme/prod/*` can grant `acme/prod/k8s`, never
 * `acme/dev/x`.
 *
 * @example
 * ```ts
 * const acme = generateSigner()
 * const prodOps = generateSigner()
 * const sub = await grantName({ issuer: acme, audience: prodOps.did, name: 'acme/prod/*', expiration })
 * const right = await grantName({ issuer: prodOps, audience: agentDid, subject: acme.did, name: 'acme/prod/k8s', expiration })
 * ```
 */
export async function grantName(options: GrantNameOptions): Promise<Delegation> {
  const pattern = options.name
  const isSubtree = pattern.endsWith('/*')
  assertName(isSubtree ? `${pattern.slice(0, -2)}/x` : pattern)
  if (pattern.indexOf('*') !== pattern.length - 1 && pattern.includes('*')) {
    throw new MeshError('INVALID_ARGUMENT', 'a subtree pattern has one * and only at its end: acme/prod/*')
  }
  return await delegate({
    issuer: options.issuer,
    audience: options.audience,
    subject: options.subject ?? options.issuer.did,
    command: NAME_COMMAND,
    policy: [isSubtree ? ['like', '.name', pattern] : ['==', '.name', pattern]],
    expiration: options.expiration
  })
}

/**
 * Save delegations to a file, as a UCAN `ctn-v1` container (base64, one line).
 *
 * @example
 * ```ts
 * await saveTokens('agent.ucan', [sub, right])
 * ```
 */
export async function saveTokens(path: string, tokens: ReadonlyArray<Delegation>): Promise<void> {
  await writeFile(path, encodeContainer(tokens.map((t) => t.bytes), 'base64'), { mode: 0o644 })
}

/**
 * Load delegations saved by {@link saveTokens} (any `ctn-v1` container header is read).
 *
 * @example
 * ```ts
 * const proofs = await loadTokens('agent.ucan')
 * ```
 */
export async function loadTokens(path: string): Promise<Delegation[]> {
  const text = (await readFile(path, 'utf8')).trim()
  return decodeContainer(text).map((bytes) => decodeDelegation(bytes))
}

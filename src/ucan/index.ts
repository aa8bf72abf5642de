/**
 * UCAN 1.0 capabilities, as pure code with no network: Ed25519 `did:key` principals, the DAG-CBOR
 * envelope with its varsig header, delegations and invocations, the policy language, chain
 * validation with a CID-keyed cache, revocation, and the `ctn-v1` container.
 *
 * @example
 * ```ts
 * import { generateSigner, delegate, invoke, validate } from 'agentmesh/ucan'
 *
 * const authority = generateSigner()
 * const orchestrator = generateSigner()
 * const now = Math.floor(Date.now() / 1000)
 *
 * const root = await delegate({
 *   issuer: authority,
 *   audience: orchestrator.did,
 *   subject: authority.did,
 *   command: '/k8s',
 *   policy: [['<=', '.replicas', 10]],
 *   expiration: now + 3600
 * })
 * const inv = await invoke({
 *   issuer: orchestrator,
 *   subject: authority.did,
 *   command: '/k8s/scale',
 *   args: { replicas: 3 },
 *   proofs: [root],
 *   expiration: now + 60
 * })
 * const ok = await validate(inv.bytes, { proofs: [root.bytes], trusted: [authority.did] })
 * ok.allows('/k8s/scale', { replicas: 50 }) // false: the policy caps replicas at 10
 * ```
 *
 * @packageDocumentation
 */

export type { Ed25519Signer, Signer } from '../identity/index.ts'
export {
  didFromPeerId,
  didFromPublicKey,
  generateSigner,
  peerIdFromDid,
  publicKeyFromDid,
  signerFromPrivateKey,
  signerFromSeed
} from '../identity/index.ts'
export { BoundedMap, type ChainStructure, defaultCache, UcanCache } from './cache.ts'
export { checkChain, type ClockOptions, ValidatedChain } from './chain.ts'
export { decodeCanonical, encodeCbor, tokenCid } from './cbor.ts'
export { assertCommand, commandProves, isCommand, isReservedCommand } from './command.ts'
export {
  CACHE_SIZE,
  CLOCK_SKEW_SECONDS,
  DELEGATION_TAG,
  DELEGATION_TAGS,
  INVOCATION_TAG,
  INVOCATION_TAGS,
  MAX_CHAIN_LENGTH,
  MAX_CONTAINER_BYTES,
  MAX_POLICY_DEPTH,
  MAX_POLICY_WORK,
  MAX_TOKEN_BYTES,
  MAX_VALUE_DEPTH,
  UCAN_VERSION
} from './constants.ts'
export { type ContainerFormat, decodeContainer, encodeContainer } from './container.ts'
export {
  type DelegateOptions,
  type Delegation,
  type DelegationPayload,
  decodeDelegation,
  delegate
} from './delegation.ts'
export { UcanError, type UcanErrorReason } from './errors.ts'
export {
  decodeInvocation,
  type Invocation,
  type InvocationPayload,
  type InvokeOptions,
  invoke
} from './invocation.ts'
export {
  assertPolicy,
  evaluatePolicy,
  isPolicy,
  matchPolicy,
  type ParsedPolicy,
  type ParsedStatement,
  type Policy,
  parsePolicy,
  type Statement
} from './policy.ts'
export { MemoryRevocationStore, type RevocationStore } from './revocation.ts'
export { parseSelector, resolveSelector, type Segment, type Selector } from './selector.ts'
export { decode, encode, type Token, verifySignature } from './token.ts'
export { findChain } from './find-chain.ts'
export type { Glob } from './glob.ts'
export {
  type ProofSource,
  type ValidateChainOptions,
  type ValidatedInvocation,
  type ValidateOptions,
  validate,
  validateChain,
  validateSync
} from './validate.ts'
export { ED25519_DAG_CBOR_VARSIG } from './varsig.ts'

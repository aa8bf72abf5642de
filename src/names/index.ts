/**
 * Names you can trust: syntax, naming rights, self-verifying signed name records, the relay
 * directory protocol (server and client), relay admission and the verifying resolver.
 *
 * @example
 * ```ts
 * import { grantName, NameResolver, signNameRecord } from './index.ts'
 *
 * const right = await grantName({ issuer: acme, audience: agent.did, name: 'acme/prod/k8s', expiration })
 * const signed = await signNameRecord({ signer: agent, name: 'acme/prod/k8s', addrs, ttl: 300_000, proofs: [right] })
 * const resolver = new NameResolver({ dial }, { relays, trust: { acme: acme.did } })
 * const record = await resolver.resolve('acme/prod/k8s') // verified, whatever the relays said
 * ```
 *
 * @packageDocumentation
 */
export { type AdmissionComponents, type AdmissionInit, answerAdmission, RelayAdmission } from './admission.ts'
export * from './constants.ts'
export { listRecords, lookupRecord, registerRecord, watchNames } from './directory-client.ts'
export { DirectoryServer, type DirectoryServerComponents, type DirectoryServerInit } from './directory-server.ts'
export { underPrefix } from './messages.ts'
export { RateLimiter } from './rate-limit.ts'
export {
  isNewer,
  type NameRecord,
  type SignedNameRecord,
  type SignNameRecordOptions,
  signNameRecord,
  type VerifyNameRecordOptions,
  verifyNameRecord
} from './record.ts'
export {
  NameRegistration,
  type NameRegistrationComponents,
  type NameRegistrationInit
} from './registration.ts'
export { NameResolver, type ResolverComponents, type ResolverInit } from './resolver.ts'
export { type GrantNameOptions, grantName, loadTokens, saveTokens } from './rights.ts'
export { assertName, isName } from './syntax.ts'
export {
  type DhtRecordOptions,
  decodeNameRecordValue,
  encodeNameRecordValue,
  nameFromKey,
  nameKey,
  nameRecordSelector,
  type NameRecordValidatorOptions,
  nameRecordValidator,
  verifyDhtRecord
} from './dht-record.ts'
export {
  type AgentmeshDhtOptions,
  agentmeshDht,
  type DhtAddressScope,
  DhtNameResolver,
  type DhtResolverComponents,
  type DhtResolverInit,
  type NameDht,
  type PublishNameRecordOptions,
  type PublishResult,
  publishNameRecord,
  type ResolveFromDhtOptions,
  resolveNameFromDht
} from './dht.ts'

/**
 * agentmesh: reach AI agents by name, wherever they run, and send them intents they are allowed to
 * perform. The example below is the README's: a relay, an edge agent holding a naming right from
 * its organisation `acme`, and an orchestrator holding a capability from it, all on loopback.
 *
 * @example
 * ```ts
 * import { createAgent, createRelay, grantName, MeshError } from 'agentmesh'
 * import { generateSigner } from 'agentmesh/identity'
 * import { delegate } from 'agentmesh/ucan'
 *
 * // The organisation's key (kept offline in real life) and what it allows: a name, a capability.
 * const acme = generateSigner()
 * const agentKey = generateSigner()
 * const orchestratorKey = generateSigner()
 * const expiration = Math.floor(Date.now() / 1000) + 3600
 * const nameRight = await grantName({ issuer: acme, audience: agentKey.did, name: 'acme/prod/demo', expiration })
 * const mayGreet = await delegate({ issuer: acme, audience: orchestratorKey.did, subject: acme.did, command: '/greet', expiration })
 * const trust = { acme: acme.did }
 *
 * // A relay: the only process that listens; it admits only agents holding a naming right from acme.
 * const relay = await createRelay({ listen: ['/ip4/127.0.0.1/tcp/0/ws'], trust })
 *
 * // An edge agent: dials out, registers its name, runs a call only if the caller's capability allows it.
 * const agent = await createAgent({ name: 'acme/prod/demo', relays: relay.addrs, identity: agentKey, proofs: [nameRight], trust })
 * agent.handle('/greet', (args: { who: string }) => `hello ${args.who}`)
 *
 * // An orchestrator: knows a name, a relay and its own capability; never the agent's credentials.
 * const orchestrator = await createAgent({ relays: relay.addrs, identity: orchestratorKey, proofs: [mayGreet], trust })
 * console.log(await orchestrator.call('acme/prod/demo', '/greet', { who: 'world' }, { timeout: 5_000 })) // hello world
 * await orchestrator.call('acme/prod/demo', '/deploy', {}).catch((err: MeshError) => console.log(err.code)) // PERMISSION_DENIED
 *
 * await Promise.all([orchestrator.stop(), agent.stop()])
 * await relay.stop()
 * ```
 *
 * @packageDocumentation
 */
export { createAgent } from './agent.ts'
export type { Agent, AgentCallContext, AgentCallOptions, AgentHandler, AgentOptions } from './agent-types.ts'
export { ERROR_CODES, type ErrorCode, isErrorCode, MeshError, type MeshErrorOptions } from './errors.ts'
export {
  assertName,
  type DirectoryServer,
  type GrantNameOptions,
  grantName,
  isName,
  loadTokens,
  NAME_COMMAND,
  type NameRecord,
  type RelayAdmission,
  type SignedNameRecord,
  type SignNameRecordOptions,
  saveTokens,
  signNameRecord,
  type VerifyNameRecordOptions,
  verifyNameRecord
} from './names/index.ts'
export type { RelayKeeper, RelayKeeperEvents, RelayKeeperInit, RelayLimits, RelayStatus } from './net/index.ts'
export { createRelay, type Relay, type RelayMetrics, type RelayOptions } from './relay.ts'
export {
  allowAuthenticatedPeers,
  type AuditEvent,
  type AuditSink,
  denyAll,
  type JsonLinesAuditSink,
  jsonLinesAuditSink,
  type LocalPolicy,
  type PolicyQuestion
} from './policy/index.ts'
export {
  type AgentCard,
  type ArgsOf,
  type AuthorizationRequest,
  type CallAuthorizer,
  type CallContext,
  type Caller,
  type CallOptions,
  type CallStream,
  defineIntent,
  type Grant,
  type IntentCard,
  type IntentContract,
  type IntentDefinition,
  type ProgressOf,
  type ResultOf,
  type Schema,
  type SchemaOutput
} from './rpc/index.ts'

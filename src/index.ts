/**
 * agentmesh: reach AI agents by name, wherever they run, and send them intents they are allowed to
 * perform.
 *
 * @example
 * ```ts
 * import { createAgent, createRelay } from 'agentmesh'
 *
 * const relay = await createRelay()
 * const agent = await createAgent({ name: 'acme/prod/demo', relays: [relay.addrs[0]!] })
 * agent.handle('/greet', (args: { who: string }) => `hello ${args.who}`)
 *
 * const orchestrator = await createAgent({ relays: [relay.addrs[0]!] })
 * const greeting = await orchestrator.call('acme/prod/demo', '/greet', { who: 'world' })
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

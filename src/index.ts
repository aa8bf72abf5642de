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
 * console.info(await orchestrator.call('acme/prod/demo', '/greet', { who: 'world' }))
 * ```
 *
 * @packageDocumentation
 */
export { type Agent, type AgentOptions, createAgent } from './agent.ts'
export { ERROR_CODES, type ErrorCode, isErrorCode, MeshError, type MeshErrorOptions } from './errors.ts'
export type { NameRecord } from './names/index.ts'
export { assertName, isName } from './names/index.ts'
export type { RelayLimits } from './net/index.ts'
export { createRelay, type Relay, type RelayOptions } from './relay.ts'
export type { CallContext, Caller, CallOptions, IntentHandler } from './rpc/index.ts'

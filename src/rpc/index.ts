/**
 * Intent RPC: contracts, the `/agentmesh/rpc/1` wire codec, the intent server, the call client and
 * the agent card.
 *
 * @example
 * ```ts
 * import { callOnConnection, defineIntent, IntentServer } from './index.ts'
 *
 * const echo = defineIntent({ cmd: '/echo' })
 * const server = new IntentServer({ registrar: node, logger: node.logger }, { authorizer })
 * server.handle(echo, (args) => args)
 * await server.start()
 * const result = await callOnConnection(connection, '/echo', { hello: 'world' }, { timeout: 5_000 })
 * ```
 *
 * @packageDocumentation
 */
export { type CallStream, toCallStream } from './call-stream.ts'
export { type AgentCard, answerCard, buildCard, fetchCard, type IntentCard } from './card.ts'
export { type CallOptions, callOnConnection, type WireCallOptions } from './client.ts'
export { type Chunk, type DecodeOptions, decodeMessages, encodeMessage, writeMessage } from './codec.ts'
export * from './constants.ts'
export {
  type ArgsOf,
  assertCommand,
  commandOf,
  defineIntent,
  type IntentContract,
  type IntentDefinition,
  jsonSchemaOf,
  type ProgressOf,
  type ResultOf,
  type Schema,
  type SchemaIssue,
  type SchemaOutput,
  validateWith
} from './contract.ts'
export { errorFrame, errorFromFrame, type Frame, parseFrame, TRACEPARENT } from './frames.ts'
export type { AuthorizationRequest, CallAuthorizer, CallContext, Caller, Grant, IntentHandler } from './handler.ts'
export { remoteDidString, remotePeerString } from './peers.ts'
export { andThen, isThenable, type MaybePromise } from './maybe-promise.ts'
export { IntentServer } from './server.ts'
export type { IntentServerComponents, IntentServerInit, ServedIntent } from './server-types.ts'

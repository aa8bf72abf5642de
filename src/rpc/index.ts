/**
 * Intent RPC: the `/agentmesh/rpc/1` wire codec, the intent server and the call client.
 *
 * @example
 * ```ts
 * import { IntentServer, callOnConnection } from './index.ts'
 *
 * const server = new IntentServer({ registrar: node, logger: node.logger })
 * server.handle('/echo', (args) => args)
 * await server.start()
 * const result = await callOnConnection(connection, '/echo', { hello: 'world' }, { timeout: 5_000 })
 * ```
 *
 * @packageDocumentation
 */
export { callOnConnection, type CallOptions } from './client.ts'
export { decodeMessages, encodeMessage, type Chunk, type DecodeOptions } from './codec.ts'
export * from './constants.ts'
export { errorFrame, errorFromFrame, parseFrame, type Frame } from './frames.ts'
export type { CallContext, Caller, IntentHandler } from './handler.ts'
export { IntentServer, sendFrame, type IntentServerComponents, type IntentServerInit } from './server.ts'

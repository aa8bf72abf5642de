import { pipe } from 'it-pipe'
import { MeshError } from '../errors.ts'
import { newStreamEarly } from '../net/early-select.ts'
import {
  type CallFields,
  type CallWaiting,
  readySharedStream,
  type SharedCallStream,
  sharedStreamCalls,
  sharedStreamFor
} from './channel.ts'
import { decodeMessages, writeMessage } from './codec.ts'
import {
  DEFAULT_CALL_TIMEOUT_MS,
  FRAME_VERSION,
  MAX_FRAME_BYTES,
  MAX_OUTBOUND_STREAMS,
  RPC_PROTOCOL,
  SHARED_STREAM_MAX_REQUEST_BYTES
} from './constants.ts'
import { errorFromFrame, parseFrame, type RequestFrame, TRACEPARENT } from './frames.ts'
import type { Connection, Stream } from '@libp2p/interface'

/** Options of one call. */
export interface CallOptions {
  /** Aborting it cancels the call: the agent's handler sees its signal abort. */
  signal?: AbortSignal
  /**
   * Time the caller waits for the result, in ms; it travels to the agent as the call's deadline.
   *
   * @default 30000 (30 s)
   */
  timeout?: number
  /**
   * Idempotency key: retrying with the same key and the same arguments returns the handler's first
   * outcome, even when the first attempt hit its deadline or was cancelled. Other arguments with the
   * same key are refused with `INVALID_ARGUMENT`. The agent forgets a key, and a retry then runs the
   * intent again, when: the handler ended with `CANCELLED` or `DEADLINE_EXCEEDED` (its attempt was
   * stopped, or a call it made timed out) or with any error after its attempt was stopped; the key's
   * window (10 minutes) has passed; the caller made more keyed calls than its quota (1,000 by
   * default), or its remembered outcomes hold more than 64 MiB, which forgets its oldest; the
   * agent's remembered outcomes hold more than 256 MiB, or it tracks its quota of callers (256), and
   * this caller is among the least recently active.
   */
  idempotencyKey?: string
  /** W3C `traceparent` of the caller's span, passed to the handler. */
  traceparent?: string
  /**
   * Largest response frame accepted, in bytes.
   *
   * @default 67112960 (64 MiB + 4 KiB)
   */
  maxFrameBytes?: number
}

/** Low-level options: what the agent facade adds to a call. */
export interface WireCallOptions extends CallOptions {
  /** The request's `auth` field. */
  auth?: unknown
  /** Called with each progress event, in order, before the result. */
  onProgress?: (data: unknown) => void
}

/**
 * Run intent `cmd` with `args` on the agent at the other end of `connection`. Small requests share a
 * long-lived call stream with the connection's other calls (no negotiation per call, writes
 * coalesced); a request over `SHARED_STREAM_MAX_REQUEST_BYTES` gets a stream of its own.
 *
 * @returns the handler's result
 * @throws {MeshError} the agent's error code, or `DEADLINE_EXCEEDED`, `CANCELLED`, `UNAVAILABLE`
 */
export function callOnConnection(
  connection: Connection,
  cmd: string,
  args: unknown,
  options: WireCallOptions = {}
): Promise<unknown> {
  const timeout = options.timeout ?? DEFAULT_CALL_TIMEOUT_MS
  if (options.traceparent !== undefined && !TRACEPARENT.test(options.traceparent)) {
    return Promise.reject(new MeshError('INVALID_ARGUMENT', 'traceparent must be a W3C trace context traceparent'))
  }
  if (aborted(options.signal)) return Promise.reject(new MeshError('CANCELLED', 'the call was cancelled by the caller'))
  const fields: CallFields = { timeout }
  if (options.idempotencyKey !== undefined) fields.idem = options.idempotencyKey
  if (options.traceparent !== undefined) fields.trace = options.traceparent
  if (options.auth !== undefined) fields.auth = options.auth
  const waiting: CallWaiting = { signal: options.signal, onProgress: options.onProgress }
  // the common case: a shared stream is open and has room, and the call starts without waiting
  const shared = readySharedStream(connection)
  if (shared === undefined) return countedOn(connection, callOnNewSharedStream(connection, cmd, args, fields, options, waiting))
  try {
    return (
      shared.start(cmd, args, fields, SHARED_STREAM_MAX_REQUEST_BYTES, waiting) ??
      countedOn(connection, callOnOwnStream(connection, cmd, args, fields, options))
    )
  } catch (err) {
    // arguments that cannot be encoded: the caller gets a rejected promise, as from any other failure
    return Promise.reject(err as Error)
  }
}

/** Calls on each connection that are not pending on a shared stream: waiting for one to open, or on a stream of their own. */
const elsewhere = new WeakMap<Connection, number>()

/** `call`, counted among the calls on `connection` until it settles. */
export function countedOn(connection: Connection, call: Promise<unknown>): Promise<unknown> {
  elsewhere.set(connection, (elsewhere.get(connection) ?? 0) + 1)
  return call.finally(() => {
    const left = (elsewhere.get(connection) ?? 1) - 1
    if (left === 0) elsewhere.delete(connection)
    else elsewhere.set(connection, left)
  })
}

/** Calls this node has in flight on `connection`, waiting for their results. */
export function callsInFlightOn(connection: Connection): number {
  return sharedStreamCalls(connection) + (elsewhere.get(connection) ?? 0)
}

/** Open (or wait for) a shared stream on `connection`, then run the call on it. */
async function callOnNewSharedStream(
  connection: Connection,
  cmd: string,
  args: unknown,
  fields: CallFields,
  options: WireCallOptions,
  waiting: CallWaiting
): Promise<unknown> {
  const deadlineAt = Date.now() + fields.timeout
  let shared: SharedCallStream
  try {
    shared = await sharedStreamFor(connection, {
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.maxFrameBytes === undefined ? {} : { maxFrameBytes: options.maxFrameBytes })
    })
  } catch (err) {
    if (aborted(options.signal)) throw new MeshError('CANCELLED', 'the call was cancelled by the caller')
    throw new MeshError('UNAVAILABLE', `cannot open an rpc stream: ${(err as Error).message}`, { cause: err })
  }
  const left = { ...fields, timeout: Math.max(1, deadlineAt - Date.now()) }
  return await (shared.start(cmd, args, left, SHARED_STREAM_MAX_REQUEST_BYTES, waiting) ??
    callOnOwnStream(connection, cmd, args, left, options))
}

/** Run one call on a stream of its own (large requests). */
async function callOnOwnStream(
  connection: Connection,
  cmd: string,
  args: unknown,
  fields: CallFields,
  options: WireCallOptions
): Promise<unknown> {
  const timeout = fields.timeout
  const deadlineAt = Date.now() + timeout
  let failure: MeshError | undefined
  let stream: Stream | undefined
  const fail = (err: MeshError): void => {
    failure ??= err
    stream?.abort(err)
  }
  const onAbort = (): void => fail(new MeshError('CANCELLED', 'the call was cancelled by the caller'))
  const timer = setTimeout(() => fail(new MeshError('DEADLINE_EXCEEDED', `no result within ${timeout} ms`)), timeout)
  options.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    if (options.signal?.aborted === true) onAbort()
    if (failure !== undefined) throw failure
    try {
      // the proposal leaves with the request: no round trip before it
      stream = await newStreamEarly(connection, RPC_PROTOCOL, {
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        maxOutboundStreams: MAX_OUTBOUND_STREAMS,
        runOnLimitedConnection: true
      })
    } catch (err) {
      throw failure ?? new MeshError('UNAVAILABLE', `cannot open an rpc stream: ${(err as Error).message}`, { cause: err })
    }
    if (failure !== undefined) {
      stream.abort(failure)
      throw failure
    }
    const id = 1
    const request: RequestFrame = {
      v: FRAME_VERSION,
      type: 'req',
      id,
      cmd,
      args,
      ...fields,
      timeout: Math.max(1, deadlineAt - Date.now())
    }
    await writeMessage(stream, request)
    for await (const value of pipe(stream, decodeMessages({ maxBytes: options.maxFrameBytes ?? MAX_FRAME_BYTES }))) {
      const frame = parseFrame(value)
      if (frame.id !== id && frame.id !== 0) continue
      if (frame.type === 'prog') {
        options.onProgress?.(frame.data)
      } else if (frame.type === 'res') {
        await stream.close().catch(() => {})
        return frame.result
      } else if (frame.type === 'err') {
        await stream.close().catch(() => {})
        throw errorFromFrame(frame)
      }
    }
    throw new MeshError('UNAVAILABLE', 'the agent closed the stream without an answer')
  } catch (err) {
    if (failure !== undefined) throw failure
    if (err instanceof MeshError) {
      if (stream?.status === 'open') stream.abort(err)
      throw err
    }
    stream?.abort(err as Error)
    throw new MeshError('UNAVAILABLE', `the call failed in transit: ${(err as Error).message}`, { cause: err })
  } finally {
    clearTimeout(timer)
    options.signal?.removeEventListener('abort', onAbort)
  }
}

function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

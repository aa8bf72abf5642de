import type { Connection, Logger, Stream } from '@libp2p/interface'
import { MeshError } from '../errors.ts'
import { newStreamEarly } from '../net/early-select.ts'
import { BatchWriter } from './batch-writer.ts'
import { DeadlineTimer } from './deadlines.ts'
import { encodeMessage, readMessages } from './codec.ts'
import { CALLS_PER_SHARED_STREAM, FRAME_VERSION, MAX_FRAME_BYTES, MAX_OUTBOUND_STREAMS, RPC_PROTOCOL } from './constants.ts'
import { errorFromFrame, type Frame, parseFrame } from './frames.ts'

/** What a call sends besides its command and arguments. */
export interface CallFields {
  /** The caller's timeout, in ms: the deadline the agent runs the call under. */
  timeout: number
  idem?: string
  trace?: string
  auth?: unknown
}

/** How a caller waits for one call. */
export interface CallWaiting {
  /** Aborting it cancels the call. */
  signal?: AbortSignal | undefined
  /** Called with each progress event, in order, before the result. */
  onProgress?: ((data: unknown) => void) | undefined
}

interface PendingCall {
  readonly id: number
  /** When the caller stops waiting, in ms since the epoch. */
  readonly deadline: number
  readonly timeout: number
  resolve(result: unknown): void
  reject(err: MeshError): void
  onProgress: ((data: unknown) => void) | undefined
  signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
}

/**
 * One long-lived `/agentmesh/rpc/1` stream that carries many calls at once, told apart by id: the
 * protocol negotiation and per-stream bookkeeping are paid once, and frames written in the same tick
 * share one write.
 */
export class SharedCallStream {
  readonly stream: Stream
  private readonly writer: BatchWriter
  private readonly pending = new Map<number, PendingCall>()
  private readonly deadlines = new DeadlineTimer<PendingCall>(
    () => this.pending.values(),
    (call) => this.cancel(call.id, new MeshError('DEADLINE_EXCEEDED', `no result within ${call.timeout} ms`))
  )
  private nextId = 1
  private dead: MeshError | undefined

  private constructor(stream: Stream, maxFrameBytes: number, log?: Logger) {
    this.stream = stream
    this.writer = new BatchWriter(stream)
    this.read(maxFrameBytes).catch((err: unknown) => log?.('shared call stream ended - %e', err))
  }

  /** Open a shared stream on `connection`. */
  static async open(connection: Connection, options: { signal?: AbortSignal; maxFrameBytes?: number; log?: Logger }) {
    // the proposal leaves with the first call's request: no round trip before it
    const stream = await newStreamEarly(connection, RPC_PROTOCOL, {
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      maxOutboundStreams: MAX_OUTBOUND_STREAMS,
      runOnLimitedConnection: true
    })
    return new SharedCallStream(stream, options.maxFrameBytes ?? MAX_FRAME_BYTES, options.log)
  }

  /** True while new calls may start on this stream. */
  get usable(): boolean {
    return this.dead === undefined && this.stream.status === 'open' && this.stream.writeStatus === 'writable'
  }

  /** Calls in flight on this stream. */
  get load(): number {
    return this.pending.size
  }

  /**
   * Start a call and return the promise of its result, or undefined (nothing sent) when the encoded
   * request is larger than `maxRequestBytes`: such a call belongs on a stream of its own. The call
   * fails with `DEADLINE_EXCEEDED` once `fields.timeout` ms have passed, and with `CANCELLED` when
   * `waiting.signal` aborts; the agent is told to stop either way.
   */
  start(cmd: string, args: unknown, fields: CallFields, maxRequestBytes: number, waiting: CallWaiting = {}): Promise<unknown> | undefined {
    if (this.dead !== undefined) return Promise.reject(this.dead)
    const id = this.nextId
    const frame: Frame = { v: FRAME_VERSION, type: 'req', id, cmd, args, timeout: fields.timeout }
    if (fields.idem !== undefined) frame.idem = fields.idem
    if (fields.trace !== undefined) frame.trace = fields.trace
    if (fields.auth !== undefined) frame.auth = fields.auth
    const bytes = encodeMessage(frame)
    if (bytes.byteLength > maxRequestBytes) return undefined
    this.nextId = this.nextId >= 0x7fffffff ? 1 : this.nextId + 1
    const result = new Promise<unknown>((resolve, reject) => {
      const call: PendingCall = {
        id,
        deadline: Date.now() + fields.timeout,
        timeout: fields.timeout,
        resolve,
        reject,
        onProgress: waiting.onProgress,
        signal: waiting.signal,
        onAbort: undefined
      }
      if (waiting.signal !== undefined) {
        call.onAbort = () => this.cancel(id, new MeshError('CANCELLED', 'the call was cancelled by the caller'))
        waiting.signal.addEventListener('abort', call.onAbort, { once: true })
      }
      this.pending.set(id, call)
      this.deadlines.watch(call.deadline)
    })
    this.writer.write(bytes)
    return result
  }

  /** Give up on call `id`: the agent is told to abort its handler; its answer, if any, is dropped. */
  cancel(id: number, reason: MeshError): void {
    const call = this.settle(id)
    if (call === undefined) return
    call.reject(reason)
    if (this.usable) this.writer.write(encodeMessage({ v: FRAME_VERSION, type: 'cancel', id }))
  }

  /** Take call `id` out of the pending calls (undefined when it is not pending). */
  private settle(id: number): PendingCall | undefined {
    const call = this.pending.get(id)
    if (call === undefined) return undefined
    this.pending.delete(id)
    if (call.onAbort !== undefined) call.signal?.removeEventListener('abort', call.onAbort)
    return call
  }

  /** Whether a call needs its own stream because this one cannot take it now. */
  get full(): boolean {
    return this.pending.size >= CALLS_PER_SHARED_STREAM
  }

  private async read(maxFrameBytes: number): Promise<void> {
    try {
      await readMessages(this.stream, (value) => this.onFrame(value), { maxBytes: maxFrameBytes })
      this.fail(new MeshError('UNAVAILABLE', 'the agent closed the call stream'))
    } catch (err) {
      this.fail(MeshError.is(err) ? err : new MeshError('UNAVAILABLE', `the call stream failed: ${(err as Error).message}`))
      this.stream.abort(err as Error)
    }
  }

  /** One frame from the agent: progress, a result or an error for a pending call; an error for the stream ends it. */
  private onFrame(value: unknown): void {
    const frame = parseFrame(value)
    if (frame.type === 'err' && frame.id === 0) throw errorFromFrame(frame)
    if (frame.type === 'prog') {
      this.pending.get(frame.id)?.onProgress?.(frame.data)
    } else if (frame.type === 'res') {
      this.settle(frame.id)?.resolve(frame.result)
    } else if (frame.type === 'err') {
      this.settle(frame.id)?.reject(errorFromFrame(frame))
    }
  }

  private fail(err: MeshError): void {
    this.dead ??= err
    this.deadlines.stop()
    for (const id of [...this.pending.keys()]) this.settle(id)?.reject(err)
  }
}

/** The shared call streams of each connection, opened on demand. */
const channels = new WeakMap<Connection, { streams: SharedCallStream[]; opening?: Promise<SharedCallStream> }>()

/** A shared call stream already open on `connection` that can take one more call, if there is one. */
export function readySharedStream(connection: Connection): SharedCallStream | undefined {
  const entry = channels.get(connection)
  if (entry === undefined) return undefined
  for (const stream of entry.streams) if (stream.usable && !stream.full) return stream
  return undefined
}

/** Calls pending on the shared call streams of `connection`. */
export function sharedStreamCalls(connection: Connection): number {
  let calls = 0
  for (const stream of channels.get(connection)?.streams ?? []) calls += stream.load
  return calls
}

/** A shared call stream on `connection` that can take one more call, opened when there is none. */
export async function sharedStreamFor(
  connection: Connection,
  options: { signal?: AbortSignal; maxFrameBytes?: number; log?: Logger }
): Promise<SharedCallStream> {
  const ready = readySharedStream(connection)
  if (ready !== undefined) return ready
  let entry = channels.get(connection)
  if (entry === undefined) {
    entry = { streams: [] }
    channels.set(connection, entry)
  }
  entry.streams = entry.streams.filter((s) => s.usable)
  if (entry.opening === undefined) {
    const holder = entry
    holder.opening = SharedCallStream.open(connection, options)
      .then((s) => {
        holder.streams.push(s)
        return s
      })
      .finally(() => {
        holder.opening = undefined
      })
  }
  return await (entry.opening as Promise<SharedCallStream>)
}

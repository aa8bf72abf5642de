import type { Connection, Logger, Stream } from '@libp2p/interface'
import { pipe } from 'it-pipe'
import { MeshError } from '../errors.ts'
import { BatchWriter } from './batch-writer.ts'
import { decodeMessages, encodeMessage } from './codec.ts'
import { CALLS_PER_SHARED_STREAM, FRAME_VERSION, MAX_FRAME_BYTES, RPC_PROTOCOL } from './constants.ts'
import { errorFromFrame, type Frame, parseFrame } from './frames.ts'

interface PendingCall {
  resolve(result: unknown): void
  reject(err: MeshError): void
  onProgress?: ((data: unknown) => void) | undefined
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
  private nextId = 1
  private dead: MeshError | undefined

  private constructor(stream: Stream, maxFrameBytes: number, log?: Logger) {
    this.stream = stream
    this.writer = new BatchWriter(stream)
    this.read(maxFrameBytes).catch((err: unknown) => log?.('shared call stream ended - %e', err))
  }

  /** Open a shared stream on `connection`. */
  static async open(connection: Connection, options: { signal?: AbortSignal; maxFrameBytes?: number; log?: Logger }) {
    const stream = await connection.newStream(RPC_PROTOCOL, {
      ...(options.signal === undefined ? {} : { signal: options.signal }),
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
   * Start a call; returns its id and the promise of its result, or undefined (nothing sent) when the
   * encoded request is larger than `maxRequestBytes`: such a call belongs on a stream of its own.
   */
  start(
    cmd: string,
    args: unknown,
    fields: { timeout: number; idem?: string; trace?: string; auth?: unknown },
    maxRequestBytes: number,
    onProgress?: (data: unknown) => void
  ): { id: number; result: Promise<unknown> } | undefined {
    if (this.dead !== undefined) throw this.dead
    const id = this.nextId
    this.nextId = this.nextId >= 0x7fffffff ? 1 : this.nextId + 1
    const frame: Frame = { v: FRAME_VERSION, type: 'req', id, cmd, args, timeout: fields.timeout }
    if (fields.idem !== undefined) frame.idem = fields.idem
    if (fields.trace !== undefined) frame.trace = fields.trace
    if (fields.auth !== undefined) frame.auth = fields.auth
    const bytes = encodeMessage(frame)
    if (bytes.byteLength > maxRequestBytes) return undefined
    const result = new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress })
    })
    this.writer.write(bytes)
    return { id, result }
  }

  /** Give up on call `id`: the agent is told to abort its handler; its answer, if any, is dropped. */
  cancel(id: number, reason: MeshError): void {
    const call = this.pending.get(id)
    if (call === undefined) return
    this.pending.delete(id)
    call.reject(reason)
    if (this.usable) this.writer.write(encodeMessage({ v: FRAME_VERSION, type: 'cancel', id }))
  }

  /** Whether a call needs its own stream because this one cannot take it now. */
  get full(): boolean {
    return this.pending.size >= CALLS_PER_SHARED_STREAM
  }

  private async read(maxFrameBytes: number): Promise<void> {
    try {
      for await (const value of pipe(this.stream, decodeMessages({ maxBytes: maxFrameBytes }))) {
        const frame = parseFrame(value)
        if (frame.type === 'err' && frame.id === 0) throw errorFromFrame(frame)
        const call = this.pending.get(frame.id)
        if (call === undefined) continue
        if (frame.type === 'prog') {
          call.onProgress?.(frame.data)
        } else if (frame.type === 'res') {
          this.pending.delete(frame.id)
          call.resolve(frame.result)
        } else if (frame.type === 'err') {
          this.pending.delete(frame.id)
          call.reject(errorFromFrame(frame))
        }
      }
      this.fail(new MeshError('UNAVAILABLE', 'the agent closed the call stream'))
    } catch (err) {
      this.fail(MeshError.is(err) ? err : new MeshError('UNAVAILABLE', `the call stream failed: ${(err as Error).message}`))
      this.stream.abort(err as Error)
    }
  }

  private fail(err: MeshError): void {
    this.dead ??= err
    for (const call of this.pending.values()) call.reject(err)
    this.pending.clear()
  }
}

/** The shared call streams of each connection, opened on demand. */
const channels = new WeakMap<Connection, { streams: SharedCallStream[]; opening?: Promise<SharedCallStream> }>()

/** A shared call stream on `connection` that can take one more call. */
export async function sharedStreamFor(
  connection: Connection,
  options: { signal?: AbortSignal; maxFrameBytes?: number; log?: Logger }
): Promise<SharedCallStream> {
  let entry = channels.get(connection)
  if (entry === undefined) {
    entry = { streams: [] }
    channels.set(connection, entry)
  }
  entry.streams = entry.streams.filter((s) => s.usable)
  const ready = entry.streams.find((s) => !s.full)
  if (ready !== undefined) return ready
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

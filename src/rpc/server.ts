import { pipe } from 'it-pipe'
import { MeshError } from '../errors.ts'
import { decodeMessages, encodeMessage } from './codec.ts'
import {
  DEFAULT_CALL_TIMEOUT_MS,
  FRAME_VERSION,
  MAX_CALL_TIMEOUT_MS,
  MAX_CALLS_PER_STREAM,
  MAX_FRAME_BYTES,
  MAX_INBOUND_STREAMS,
  MAX_OUTBOUND_STREAMS,
  RPC_PROTOCOL
} from './constants.ts'
import { errorFrame, type Frame, parseFrame, type RequestFrame } from './frames.ts'
import type { CallContext, IntentHandler } from './handler.ts'
import type { AbortOptions, ComponentLogger, Connection, Logger, Startable, Stream } from '@libp2p/interface'

/** The part of a libp2p node the intent server needs. */
export interface IntentServerComponents {
  registrar: {
    handle(
      protocol: string,
      handler: (stream: Stream, connection: Connection) => void,
      options?: object
    ): Promise<void>
    unhandle(protocol: string): Promise<void>
  }
  logger: ComponentLogger
}

/** Options of the intent server. */
export interface IntentServerInit {
  /**
   * Largest request frame accepted, in bytes.
   *
   * @default MAX_FRAME_BYTES
   */
  maxFrameBytes?: number
  /**
   * Requests in flight on one stream at once; more are refused with `RESOURCE_EXHAUSTED`.
   *
   * @default MAX_CALLS_PER_STREAM
   */
  maxCallsPerStream?: number
}

/**
 * Serves `/agentmesh/rpc/1`: reads request frames, runs the registered handler for each with a
 * deadline and an abort signal, and answers with one result or error frame per request.
 */
export class IntentServer implements Startable {
  private readonly components: IntentServerComponents
  private readonly log: Logger
  private readonly handlers = new Map<string, IntentHandler>()
  private readonly maxFrameBytes: number
  private readonly maxCallsPerStream: number
  private readonly inflight = new Set<AbortController>()
  private started = false

  constructor(components: IntentServerComponents, init: IntentServerInit = {}) {
    this.components = components
    this.log = components.logger.forComponent('agentmesh:rpc:server')
    this.maxFrameBytes = init.maxFrameBytes ?? MAX_FRAME_BYTES
    this.maxCallsPerStream = init.maxCallsPerStream ?? MAX_CALLS_PER_STREAM
  }

  /** Register (or replace) the handler of intent `cmd`. */
  handle(cmd: string, handler: IntentHandler): void {
    this.handlers.set(cmd, handler)
  }

  /** The intents served, in registration order. */
  intents(): string[] {
    return [...this.handlers.keys()]
  }

  async start(): Promise<void> {
    if (this.started) return
    await this.components.registrar.handle(
      RPC_PROTOCOL,
      (stream, connection) => {
        this.onStream(stream, connection).catch((err: unknown) => {
          this.log.error('rpc stream failed - %e', err)
          stream.abort(err instanceof Error ? err : new Error(String(err)))
        })
      },
      {
        maxInboundStreams: MAX_INBOUND_STREAMS,
        maxOutboundStreams: MAX_OUTBOUND_STREAMS,
        runOnLimitedConnection: true
      }
    )
    this.started = true
  }

  /** Stop serving: in-flight calls are aborted and answered `UNAVAILABLE`. */
  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    await this.components.registrar.unhandle(RPC_PROTOCOL)
    for (const controller of this.inflight) {
      controller.abort(new MeshError('UNAVAILABLE', 'the agent is stopping'))
    }
  }

  private async onStream(stream: Stream, connection: Connection): Promise<void> {
    const active = new Map<number, AbortController>()
    const running = new Set<Promise<void>>()
    const onClose = (): void => {
      for (const controller of active.values())
        controller.abort(new MeshError('CANCELLED', 'the caller went away'))
    }
    stream.addEventListener('close', onClose, { once: true })
    try {
      for await (const value of pipe(stream, decodeMessages({ maxBytes: this.maxFrameBytes }))) {
        let frame: Frame
        try {
          frame = parseFrame(value)
        } catch (err) {
          const id = typeof (value as { id?: unknown })?.id === 'number' ? (value as { id: number }).id : 0
          await sendFrame(stream, errorFrame(id, MeshError.from(err, 'INVALID_ARGUMENT')))
          continue
        }
        if (frame.type === 'cancel') {
          active.get(frame.id)?.abort(new MeshError('CANCELLED', 'the caller cancelled the call'))
        } else if (frame.type !== 'req') {
          await sendFrame(
            stream,
            errorFrame(frame.id, new MeshError('INVALID_ARGUMENT', 'expected a request'))
          )
        } else if (active.has(frame.id)) {
          await sendFrame(
            stream,
            errorFrame(frame.id, new MeshError('INVALID_ARGUMENT', 'call id already in use'))
          )
        } else if (active.size >= this.maxCallsPerStream || !this.started) {
          const err = this.started
            ? new MeshError('RESOURCE_EXHAUSTED', 'too many calls in flight on this stream')
            : new MeshError('UNAVAILABLE', 'the agent is stopping')
          await sendFrame(stream, errorFrame(frame.id, err))
        } else {
          const controller = new AbortController()
          active.set(frame.id, controller)
          const run = this.runCall(stream, connection, frame, controller).finally(() => {
            active.delete(frame.id)
            running.delete(run)
          })
          running.add(run)
        }
      }
    } catch (err) {
      // The byte stream cannot be resynchronised after a bad prefix or body: answer, then end it.
      const meshErr = MeshError.from(err, 'INVALID_ARGUMENT')
      this.log('closing rpc stream from %p: %s', connection.remotePeer, meshErr.message)
      if (stream.status === 'open') {
        await sendFrame(stream, errorFrame(0, meshErr)).catch(() => {})
      }
      onClose()
    }
    await Promise.allSettled([...running])
    stream.removeEventListener('close', onClose)
    if (stream.status === 'open') await stream.close().catch(() => {})
  }

  private async runCall(
    stream: Stream,
    connection: Connection,
    req: RequestFrame,
    controller: AbortController
  ): Promise<void> {
    const timeout = Math.min(req.timeout > 0 ? req.timeout : DEFAULT_CALL_TIMEOUT_MS, MAX_CALL_TIMEOUT_MS)
    const deadline = Date.now() + timeout
    const timer = setTimeout(() => {
      controller.abort(new MeshError('DEADLINE_EXCEEDED', `deadline of ${timeout} ms exceeded`))
    }, timeout)
    this.inflight.add(controller)
    let answer: Frame
    try {
      const handler = this.handlers.get(req.cmd)
      if (handler === undefined) throw new MeshError('UNIMPLEMENTED', `intent ${req.cmd} is not served here`)
      const ctx: CallContext = {
        cmd: req.cmd,
        caller: { peer: connection.remotePeer.toString() },
        signal: controller.signal,
        deadline
      }
      const result = await raceAbort(Promise.resolve(handler(req.args, ctx)), controller.signal)
      answer = { v: FRAME_VERSION, type: 'res', id: req.id, result: result === undefined ? null : result }
    } catch (err) {
      answer = errorFrame(req.id, this.toWireError(err, req.cmd))
    } finally {
      clearTimeout(timer)
      this.inflight.delete(controller)
    }
    // A result that arrives after the deadline or a cancel is never delivered.
    if (controller.signal.aborted && answer.type === 'res') {
      answer = errorFrame(req.id, this.toWireError(controller.signal.reason, req.cmd))
    }
    if (stream.status !== 'open' || stream.writeStatus !== 'writable') return
    let bytes: Uint8Array
    try {
      bytes = encodeMessage(answer)
      if (bytes.byteLength > this.maxFrameBytes) {
        bytes = encodeMessage(
          errorFrame(
            req.id,
            new MeshError('RESOURCE_EXHAUSTED', `result exceeds ${this.maxFrameBytes} bytes`)
          )
        )
      }
    } catch {
      bytes = encodeMessage(errorFrame(req.id, new MeshError('INTERNAL', 'the result cannot be encoded')))
    }
    await sendBytes(stream, bytes).catch((err: unknown) =>
      this.log('could not answer call %d - %e', req.id, err)
    )
  }

  private toWireError(err: unknown, cmd: string): MeshError {
    if (err instanceof MeshError) return err
    this.log.error('handler of %s threw - %e', cmd, err)
    return MeshError.from(err)
  }
}

/** Resolve with `promise`, or reject with the signal's reason as soon as it aborts. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(err)
      }
    )
  })
}

/** Write one frame, waiting for the stream to drain when its buffer is full. */
export async function sendFrame(stream: Stream, frame: Frame, options?: AbortOptions): Promise<void> {
  await sendBytes(stream, encodeMessage(frame), options)
}

async function sendBytes(stream: Stream, bytes: Uint8Array, options?: AbortOptions): Promise<void> {
  if (stream.writableNeedsDrain) await stream.onDrain(options)
  if (!stream.send(bytes)) await stream.onDrain(options)
}

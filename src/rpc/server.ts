import { pipe } from 'it-pipe'
import { MeshError } from '../errors.ts'
import { BatchWriter } from './batch-writer.ts'
import { decodeMessages, encodeMessage } from './codec.ts'
import {
  DEFAULT_CALL_TIMEOUT_MS,
  FRAME_VERSION,
  IDEMPOTENCY_WINDOW_MS,
  MAX_ANSWER_BACKLOG_BYTES,
  MAX_CALL_TIMEOUT_MS,
  MAX_CALLS_PER_CALLER,
  MAX_CALLS_PER_STREAM,
  MAX_FRAME_BYTES,
  MAX_IDEMPOTENCY_KEYS,
  MAX_INBOUND_STREAMS,
  MAX_INFLIGHT_CALLS,
  MAX_OUTBOUND_STREAMS,
  RPC_PROTOCOL
} from './constants.ts'
import { type IntentContract, validateWith } from './contract.ts'
import { errorFrame, type Frame, parseFrame, type RequestFrame } from './frames.ts'
import type { CallAuthorizer, CallContext, Grant, IntentHandler } from './handler.ts'
import { IdempotencyStore, idempotencyKey } from './idempotency.ts'
import { remoteDidString, remotePeerString } from './peers.ts'
import type { ComponentLogger, Connection, Logger, Startable, Stream } from '@libp2p/interface'

/** The part of a libp2p node the intent server needs. */
export interface IntentServerComponents {
  registrar: {
    handle(protocol: string, handler: (stream: Stream, connection: Connection) => void, options?: object): Promise<void>
    unhandle(protocol: string): Promise<void>
  }
  logger: ComponentLogger
}

/** Options of the intent server. */
export interface IntentServerInit {
  /** Decides which calls may run. Required: there is no allow-all default. */
  authorizer: CallAuthorizer
  /**
   * Largest frame accepted or sent, in bytes.
   *
   * @default MAX_FRAME_BYTES
   */
  maxFrameBytes?: number
  /**
   * Requests in flight on one stream at once.
   *
   * @default MAX_CALLS_PER_STREAM
   */
  maxCallsPerStream?: number
  /**
   * Calls running at once on this agent; more are refused at once with `RESOURCE_EXHAUSTED`.
   *
   * @default MAX_INFLIGHT_CALLS
   */
  maxInflight?: number
  /**
   * Calls one caller may have running at once; more are refused at once with `RESOURCE_EXHAUSTED`.
   *
   * @default MAX_CALLS_PER_CALLER
   */
  maxCallsPerCaller?: number
  /**
   * How long an idempotency key remembers its first outcome, in ms.
   *
   * @default IDEMPOTENCY_WINDOW_MS
   */
  idempotencyWindowMs?: number
}

/** A served intent: its contract (schemas) and its handler. */
export interface ServedIntent {
  contract: IntentContract
  handler: IntentHandler
}

/**
 * Serves `/agentmesh/rpc/1`: reads request frames; for each, checks limits, the argument schema and
 * the caller's authority, runs the handler with a deadline and an abort signal, streams its progress
 * and answers with one result or error frame.
 */
export class IntentServer implements Startable {
  private readonly components: IntentServerComponents
  private readonly log: Logger
  private readonly intents = new Map<string, ServedIntent>()
  private readonly authorizer: CallAuthorizer
  private readonly maxFrameBytes: number
  private readonly maxCallsPerStream: number
  private readonly maxInflight: number
  private readonly maxCallsPerCaller: number
  private readonly idempotency: IdempotencyStore
  private readonly inflight = new Set<AbortController>()
  private readonly perCaller = new Map<string, number>()
  private started = false

  constructor(components: IntentServerComponents, init: IntentServerInit) {
    this.components = components
    this.log = components.logger.forComponent('agentmesh:rpc:server')
    this.authorizer = init.authorizer
    this.maxFrameBytes = init.maxFrameBytes ?? MAX_FRAME_BYTES
    this.maxCallsPerStream = init.maxCallsPerStream ?? MAX_CALLS_PER_STREAM
    this.maxInflight = init.maxInflight ?? MAX_INFLIGHT_CALLS
    this.maxCallsPerCaller = init.maxCallsPerCaller ?? MAX_CALLS_PER_CALLER
    this.idempotency = new IdempotencyStore(init.idempotencyWindowMs ?? IDEMPOTENCY_WINDOW_MS, MAX_IDEMPOTENCY_KEYS)
  }

  /** Serve `contract` with `handler`; replaces an earlier handler of the same command. */
  handle(contract: IntentContract, handler: IntentHandler): void {
    this.intents.set(contract.cmd, { contract, handler })
  }

  /** The intents served, in registration order. */
  served(): ServedIntent[] {
    return [...this.intents.values()]
  }

  /** Calls running now. */
  get inflightCount(): number {
    return this.inflight.size
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
      { maxInboundStreams: MAX_INBOUND_STREAMS, maxOutboundStreams: MAX_OUTBOUND_STREAMS, runOnLimitedConnection: true }
    )
    this.started = true
  }

  /** Stop serving: in-flight calls are aborted and answered `UNAVAILABLE`. */
  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    for (const controller of this.inflight) controller.abort(new MeshError('UNAVAILABLE', 'the agent is stopping'))
    await this.components.registrar.unhandle(RPC_PROTOCOL)
  }

  private async onStream(stream: Stream, connection: Connection): Promise<void> {
    // answers of concurrent calls finishing in the same tick share one write
    const writer = new BatchWriter(stream)
    const answer = (frame: Frame): void => writer.write(encodeMessage(frame))
    const active = new Map<number, AbortController>()
    const running = new Set<Promise<void>>()
    const onClose = (): void => {
      for (const controller of active.values()) controller.abort(new MeshError('CANCELLED', 'the caller went away'))
    }
    stream.addEventListener('close', onClose, { once: true })
    try {
      for await (const value of pipe(stream, decodeMessages({ maxBytes: this.maxFrameBytes }))) {
        let frame: Frame
        try {
          frame = parseFrame(value)
        } catch (err) {
          const id = typeof (value as { id?: unknown })?.id === 'number' ? (value as { id: number }).id : 0
          answer(errorFrame(id, MeshError.from(err, 'INVALID_ARGUMENT')))
          continue
        }
        if (frame.type === 'cancel') {
          active.get(frame.id)?.abort(new MeshError('CANCELLED', 'the caller cancelled the call'))
          continue
        }
        if (frame.type !== 'req') {
          answer(errorFrame(frame.id, new MeshError('INVALID_ARGUMENT', 'expected a request')))
          continue
        }
        const refusal = this.admit(frame, active)
        if (refusal !== undefined) {
          answer(errorFrame(frame.id, refusal))
          continue
        }
        const controller = new AbortController()
        const peer = remotePeerString(connection)
        active.set(frame.id, controller)
        this.inflight.add(controller)
        this.perCaller.set(peer, (this.perCaller.get(peer) ?? 0) + 1)
        const run = this.runCall(stream, writer, connection, frame, controller).finally(() => {
          active.delete(frame.id)
          running.delete(run)
          this.inflight.delete(controller)
          const left = (this.perCaller.get(peer) ?? 1) - 1
          if (left <= 0) this.perCaller.delete(peer)
          else this.perCaller.set(peer, left)
        })
        running.add(run)
        if (writer.backlog > MAX_ANSWER_BACKLOG_BYTES) await this.waitForReader(stream, writer)
      }
    } catch (err) {
      // The byte stream cannot be resynchronised after a bad prefix or body: answer, then end it.
      const meshErr = MeshError.from(err, 'INVALID_ARGUMENT')
      this.log('closing rpc stream from %p: %s', connection.remotePeer, meshErr.message)
      if (stream.status === 'open') answer(errorFrame(0, meshErr))
      onClose()
    }
    await Promise.allSettled([...running])
    stream.removeEventListener('close', onClose)
    await writer.ready().catch(() => {})
    if (stream.status === 'open') await stream.close().catch(() => {})
  }

  /**
   * Stop reading `stream` until its answers have been taken: pausing the stream stops yamux window
   * updates, so the caller cannot send more than its current window meanwhile.
   */
  private async waitForReader(stream: Stream, writer: BatchWriter): Promise<void> {
    this.log('caller on %s is not reading its answers (%d bytes waiting): pausing its requests', stream.id, writer.backlog)
    stream.pause()
    try {
      await writer.ready()
    } catch {
      // the stream closed or failed: the read loop ends on its own
    } finally {
      if (stream.status === 'open') stream.resume()
    }
  }

  /** Refuse a request at once when the agent is stopping or a limit is reached; undefined admits it. */
  private admit(req: RequestFrame, active: Map<number, AbortController>): MeshError | undefined {
    if (!this.started) return new MeshError('UNAVAILABLE', 'the agent is stopping')
    if (active.has(req.id)) return new MeshError('INVALID_ARGUMENT', 'call id already in use on this stream')
    if (active.size >= this.maxCallsPerStream) {
      return new MeshError('RESOURCE_EXHAUSTED', 'too many calls in flight on this stream')
    }
    if (this.inflight.size >= this.maxInflight) {
      return new MeshError('RESOURCE_EXHAUSTED', 'the agent is at its limit of calls in flight', {
        details: { limit: this.maxInflight }
      })
    }
    return undefined
  }

  private async runCall(
    stream: Stream,
    writer: BatchWriter,
    connection: Connection,
    req: RequestFrame,
    controller: AbortController
  ) {
    const peer = remotePeerString(connection)
    const timeout = Math.min(req.timeout > 0 ? req.timeout : DEFAULT_CALL_TIMEOUT_MS, MAX_CALL_TIMEOUT_MS)
    const deadline = Date.now() + timeout
    const timer = setTimeout(() => {
      controller.abort(new MeshError('DEADLINE_EXCEEDED', `deadline of ${timeout} ms exceeded`))
    }, timeout)
    let answer: Frame
    try {
      if ((this.perCaller.get(peer) ?? 0) > this.maxCallsPerCaller) {
        throw new MeshError('RESOURCE_EXHAUSTED', 'this caller is at its limit of calls in flight', {
          details: { limit: this.maxCallsPerCaller }
        })
      }
      const served = this.intents.get(req.cmd)
      if (served === undefined) {
        // only a caller allowed to run the intent learns that it is not served here
        await this.authorizer.authorize({ cmd: req.cmd, args: req.args, rawArgs: req.args, auth: req.auth, connection })
        throw new MeshError('UNIMPLEMENTED', `intent ${req.cmd} is not served here`)
      }
      const args = await validateWith(served.contract.args, req.args, 'arguments')
      const grant = await this.authorizer.authorize({ cmd: req.cmd, args, rawArgs: req.args, auth: req.auth, connection })
      if (req.idem === undefined) {
        answer = await this.execute(stream, writer, served, req, args, grant, { peer, did: remoteDidString(connection) }, deadline, controller)
      } else {
        const key = idempotencyKey(peer, req.cmd, req.idem)
        let outcome = this.idempotency.get(key)
        if (outcome === undefined) {
          outcome = this.execute(stream, writer, served, req, args, grant, { peer, did: remoteDidString(connection) }, deadline, controller)
          this.idempotency.set(key, outcome)
        }
        answer = { ...(await raceAbort(outcome, controller.signal)), id: req.id }
      }
    } catch (err) {
      answer = errorFrame(req.id, this.toWireError(err, req.cmd))
    } finally {
      clearTimeout(timer)
    }
    // A result that arrives after the deadline or a cancel is never delivered.
    if (controller.signal.aborted && answer.type === 'res') {
      answer = errorFrame(req.id, this.toWireError(controller.signal.reason, req.cmd))
    }
    if (stream.status !== 'open' || stream.writeStatus !== 'writable') return
    writer.write(this.encodeAnswer(answer, req.id))
  }

  /** Run the handler and turn its outcome into a terminal frame (never rejects). */
  private async execute(
    stream: Stream,
    writer: BatchWriter,
    served: ServedIntent,
    req: RequestFrame,
    args: unknown,
    grant: Grant,
    caller: { peer: string; did: string },
    deadline: number,
    controller: AbortController
  ): Promise<Frame> {
    const signal = controller.signal
    const ctx: CallContext = {
      cmd: req.cmd,
      caller: { ...caller, ...grant.caller },
      signal,
      deadline,
      grant,
      authorize: (cmd, actionArgs) => grant.allows(cmd, actionArgs),
      progress: async (data) => {
        if (signal.aborted || stream.status !== 'open' || stream.writeStatus !== 'writable') return
        writer.write(encodeMessage({ v: FRAME_VERSION, type: 'prog', id: req.id, data }))
        await writer.ready({ signal })
      }
    }
    if (req.trace !== undefined) ctx.traceparent = req.trace
    try {
      const raw = await raceAbort(Promise.resolve(served.handler(args, ctx)), signal)
      const result = await validateWith(served.contract.result, raw === undefined ? null : raw, 'result', 'INTERNAL')
      return { v: FRAME_VERSION, type: 'res', id: req.id, result }
    } catch (err) {
      return errorFrame(req.id, this.toWireError(err, req.cmd))
    }
  }

  private encodeAnswer(answer: Frame, id: number): Uint8Array {
    try {
      const bytes = encodeMessage(answer)
      if (bytes.byteLength <= this.maxFrameBytes) return bytes
      return encodeMessage(
        errorFrame(id, new MeshError('RESOURCE_EXHAUSTED', `result exceeds the ${this.maxFrameBytes}-byte frame limit`))
      )
    } catch {
      return encodeMessage(errorFrame(id, new MeshError('INTERNAL', 'the result cannot be encoded as DAG-CBOR')))
    }
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

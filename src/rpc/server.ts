import { MeshError } from '../errors.ts'
import { BatchWriter } from './batch-writer.ts'
import { encodeMessage, readMessages } from './codec.ts'
import {
  DEFAULT_CALL_TIMEOUT_MS,
  FRAME_STALL_MS,
  FRAME_VERSION,
  IDEMPOTENCY_WINDOW_MS,
  MAX_CALL_TIMEOUT_MS,
  MAX_CALLS_PER_CALLER,
  MAX_BUFFERED_FRAME_BYTES,
  MAX_CALLS_PER_STREAM,
  MAX_FRAME_BYTES,
  MAX_IDEMPOTENCY_BYTES,
  MAX_IDEMPOTENCY_BYTES_PER_CALLER,
  MAX_IDEMPOTENCY_CALLERS,
  MAX_IDEMPOTENCY_KEYS_PER_CALLER,
  MAX_INBOUND_STREAMS,
  MAX_INFLIGHT_CALLS,
  MAX_OUTBOUND_STREAMS,
  RPC_PROTOCOL
} from './constants.ts'
import { type IntentContract, validateNow } from './contract.ts'
import { DeadlineTimer } from './deadlines.ts'
import { FrameBudget } from './frame-budget.ts'
import { errorFrame, type Frame, parseFrame, type RequestFrame } from './frames.ts'
import { CallerHoldBack } from './hold-back.ts'
import type { CallAuthorizer, Grant, IntentHandler } from './handler.ts'
import { argsDigestOf, IdempotencyStore, idempotencyKey, runIdempotent } from './idempotency.ts'
import { andThen, isThenable, type MaybePromise } from './maybe-promise.ts'
import { remoteDidString, remotePeerString } from './peers.ts'
import { deadlineExceeded, RunningCall, ServerCallContext } from './running-call.ts'
import type { IntentServerComponents, IntentServerInit, ServedIntent } from './server-types.ts'
import type { Connection, Logger, Startable, Stream } from '@libp2p/interface'

/** The calls one caller has running on this agent, across its streams. */
interface CallerLoad {
  running: number
  streams: number
}

/** The calls of one inbound stream, and a wake-up for when the last of them ends. */
interface StreamCalls {
  readonly active: Map<number, RunningCall>
  /** The caller's load, shared with its other streams. */
  readonly load: CallerLoad
  idle: (() => void) | undefined
  /** Stops reading the stream while its caller does not take its answers. */
  readonly holdBack: CallerHoldBack
}

/**
 * Serves `/agentmesh/rpc/1`: reads request frames; for each, checks limits, the argument schema and
 * the caller's authority, runs the handler with a deadline and an abort signal, streams its progress
 * and answers with one result or error frame.
 *
 * The steps of a call (schema, authorizer, handler, result schema) run synchronously as long as each
 * answers synchronously, and one timer serves every call's deadline, so a call to a synchronous
 * handler costs no promise and no timer of its own.
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
  /** Bytes of incomplete frames, per caller and in all. */
  private readonly frameBudget: FrameBudget
  private readonly inflight = new Set<RunningCall>()
  /** Calls running per caller (PeerId), shared by the caller's streams; removed with its last stream. */
  private readonly perCaller = new Map<string, CallerLoad>()
  /** The calls of each connection's streams being served. */
  private readonly byConnection = new WeakMap<Connection, Set<StreamCalls>>()
  private readonly deadlines = new DeadlineTimer<RunningCall>(
    () => this.inflight,
    (call) => call.stop(deadlineExceeded(call))
  )
  private started = false

  constructor(components: IntentServerComponents, init: IntentServerInit) {
    this.components = components
    this.log = components.logger.forComponent('agentmesh:rpc:server')
    this.authorizer = init.authorizer
    this.maxFrameBytes = init.maxFrameBytes ?? MAX_FRAME_BYTES
    this.maxCallsPerStream = init.maxCallsPerStream ?? MAX_CALLS_PER_STREAM
    this.maxInflight = init.maxInflight ?? MAX_INFLIGHT_CALLS
    this.maxCallsPerCaller = init.maxCallsPerCaller ?? MAX_CALLS_PER_CALLER
    this.idempotency = new IdempotencyStore(init.idempotencyWindowMs ?? IDEMPOTENCY_WINDOW_MS, {
      keysPerCaller: init.idempotencyKeysPerCaller ?? MAX_IDEMPOTENCY_KEYS_PER_CALLER,
      callers: init.idempotencyCallers ?? MAX_IDEMPOTENCY_CALLERS,
      bytesPerCaller: MAX_IDEMPOTENCY_BYTES_PER_CALLER,
      bytes: MAX_IDEMPOTENCY_BYTES
    })
    this.frameBudget = new FrameBudget({
      perCaller: Math.min(2 * this.maxFrameBytes, init.maxBufferedBytes ?? MAX_BUFFERED_FRAME_BYTES),
      total: init.maxBufferedBytes ?? MAX_BUFFERED_FRAME_BYTES,
      stallMs: init.frameStallMs ?? FRAME_STALL_MS
    })
  }

  /** Bytes of frames not yet whole held now, across callers. */
  get bufferedFrameBytes(): number {
    return this.frameBudget.heldBytes
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

  /** Calls running now that came over `connection`. */
  callsOn(connection: Connection): number {
    let running = 0
    for (const calls of this.byConnection.get(connection) ?? []) running += calls.active.size
    return running
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
    for (const call of this.inflight) call.stop(new MeshError('UNAVAILABLE', 'the agent is stopping'))
    this.deadlines.stop()
    await this.components.registrar.unhandle(RPC_PROTOCOL)
  }

  private async onStream(stream: Stream, connection: Connection): Promise<void> {
    // answers of concurrent calls finishing in the same tick share one write
    const writer = new BatchWriter(stream)
    const peer = remotePeerString(connection)
    let load = this.perCaller.get(peer)
    if (load === undefined) {
      load = { running: 0, streams: 0 }
      this.perCaller.set(peer, load)
    }
    load.streams++
    const calls: StreamCalls = { active: new Map(), load, idle: undefined, holdBack: new CallerHoldBack(stream, writer, this.log) }
    let served = this.byConnection.get(connection)
    if (served === undefined) {
      served = new Set()
      this.byConnection.set(connection, served)
    }
    served.add(calls)
    const onClose = (): void => {
      for (const call of calls.active.values()) call.stop(new MeshError('CANCELLED', 'the caller went away'))
    }
    stream.addEventListener('close', onClose, { once: true })
    const stalled = new AbortController()
    const held = this.frameBudget.open(peer, () => stream.readStatus === 'paused', (err) => stalled.abort(err))
    try {
      await readMessages(stream, (value) => this.onFrame(value, stream, writer, connection, peer, calls), {
        maxBytes: this.maxFrameBytes,
        held,
        signal: stalled.signal
      })
    } catch (err) {
      // The byte stream cannot be resynchronised after a bad prefix or body: answer, then end it.
      const meshErr = MeshError.from(err, 'INVALID_ARGUMENT')
      this.log('closing rpc stream from %p: %s', connection.remotePeer, meshErr.message)
      if (stream.status === 'open') writer.write(encodeMessage(errorFrame(0, meshErr)))
      onClose()
    }
    if (calls.active.size > 0) {
      await new Promise<void>((resolve) => {
        calls.idle = resolve
      })
    }
    stream.removeEventListener('close', onClose)
    served.delete(calls)
    if (--load.streams === 0 && load.running === 0) this.perCaller.delete(peer)
    await writer.ready().catch(() => {})
    // over the budget or stalled: the caller could go on sending into a stream nobody reads
    if (held.ended !== undefined) stream.abort(held.ended)
    else if (stream.status === 'open') await stream.close().catch(() => {})
  }

  /** One frame from the caller: a request starts a call, a cancel stops one, anything else is refused. */
  private onFrame(value: unknown, stream: Stream, writer: BatchWriter, connection: Connection, peer: string, calls: StreamCalls): void {
    const answer = (frame: Frame): void => writer.write(encodeMessage(frame))
    let frame: Frame
    try {
      frame = parseFrame(value)
    } catch (err) {
      const id = typeof (value as { id?: unknown })?.id === 'number' ? (value as { id: number }).id : 0
      answer(errorFrame(id, MeshError.from(err, 'INVALID_ARGUMENT')))
      return
    }
    if (frame.type === 'cancel') {
      calls.active.get(frame.id)?.stop(new MeshError('CANCELLED', 'the caller cancelled the call'))
      return
    }
    if (frame.type !== 'req') {
      answer(errorFrame(frame.id, new MeshError('INVALID_ARGUMENT', 'expected a request')))
      return
    }
    const refusal = this.admit(frame, calls.active)
    if (refusal !== undefined) {
      answer(errorFrame(frame.id, refusal))
      return
    }
    const timeout = Math.min(frame.timeout > 0 ? frame.timeout : DEFAULT_CALL_TIMEOUT_MS, MAX_CALL_TIMEOUT_MS)
    const call = new RunningCall(frame.id, peer, timeout)
    calls.active.set(frame.id, call)
    this.inflight.add(call)
    calls.load.running++
    this.deadlines.watch(call.deadline)
    this.runCall(stream, writer, connection, frame, call, calls)
    calls.holdBack.check()
  }

  /** Refuse a request at once when the agent is stopping or a limit is reached; undefined admits it. */
  private admit(req: RequestFrame, active: Map<number, RunningCall>): MeshError | undefined {
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

  /** Run `req` to its answer frame and send it; synchronous for as long as every step is. */
  private runCall(stream: Stream, writer: BatchWriter, connection: Connection, req: RequestFrame, call: RunningCall, calls: StreamCalls): void {
    const finish = (answer: Frame): void => {
      calls.active.delete(call.id)
      this.inflight.delete(call)
      calls.load.running--
      if (calls.active.size === 0) calls.idle?.()
      // A result that arrives after the deadline or a cancel is never delivered.
      if (call.reason !== undefined && answer.type === 'res') answer = errorFrame(req.id, this.toWireError(call.reason, req.cmd))
      if (stream.status !== 'open' || stream.writeStatus !== 'writable') return
      writer.write(this.encodeAnswer(answer, req.id))
    }
    const fail = (err: unknown): void => finish(errorFrame(req.id, this.toWireError(err, req.cmd)))
    try {
      const answer = this.answerOf(stream, writer, connection, req, call, calls.load)
      if (isThenable(answer)) Promise.resolve(answer).then(finish, fail)
      else finish(answer)
    } catch (err) {
      fail(err)
    }
  }

  /** The terminal frame of `req`: limits, schema, authority, then the handler (or the idempotent outcome). */
  private answerOf(
    stream: Stream,
    writer: BatchWriter,
    connection: Connection,
    req: RequestFrame,
    call: RunningCall,
    load: CallerLoad
  ): MaybePromise<Frame> {
    if (load.running > this.maxCallsPerCaller) {
      throw new MeshError('RESOURCE_EXHAUSTED', 'this caller is at its limit of calls in flight', {
        details: { limit: this.maxCallsPerCaller }
      })
    }
    const served = this.intents.get(req.cmd)
    if (served === undefined) {
      // only a caller allowed to run the intent learns that it is not served here
      return andThen(call.race(this.authorizer.authorize({ cmd: req.cmd, args: req.args, rawArgs: req.args, auth: req.auth, connection })), () => {
        throw new MeshError('UNIMPLEMENTED', `intent ${req.cmd} is not served here`)
      })
    }
    return andThen(validateNow(served.contract.args, req.args, 'arguments'), (args) =>
      // raced like the handler: an authorizer (a local policy, say) that does not answer does not hold
      // the call's slot past its deadline or a cancel
      andThen(call.race(this.authorizer.authorize({ cmd: req.cmd, args, rawArgs: req.args, auth: req.auth, connection })), (grant) => {
        const caller = { peer: call.peer, did: remoteDidString(connection), ...grant.caller }
        const run = (raced: boolean): MaybePromise<Frame> => this.execute(stream, writer, served, req, args, grant, caller, call, raced)
        if (req.idem === undefined) return run(true)
        return runIdempotent(this.idempotency, call, idempotencyKey(req.cmd, req.idem), argsDigestOf(req.args), req.id, run)
      })
    )
  }

  /**
   * Run the handler and turn its outcome into a terminal frame (never throws, never rejects). Raced
   * with the call's stop unless `raced` is false: then the frame is the handler's own outcome.
   */
  private execute(
    stream: Stream,
    writer: BatchWriter,
    served: ServedIntent,
    req: RequestFrame,
    args: unknown,
    grant: Grant,
    caller: ServerCallContext['caller'],
    call: RunningCall,
    raced = true
  ): MaybePromise<Frame> {
    const failed = (err: unknown): Frame => errorFrame(req.id, this.toWireError(err, req.cmd))
    try {
      const ctx = new ServerCallContext(req, call, grant, caller, stream, writer)
      const ran = served.handler(args, ctx)
      const outcome = andThen(raced ? call.race(ran) : ran, (raw) =>
        andThen(validateNow(served.contract.result, raw === undefined ? null : raw, 'result', 'INTERNAL'), (result): Frame => ({
          v: FRAME_VERSION,
          type: 'res',
          id: req.id,
          result
        }))
      )
      return isThenable(outcome) ? Promise.resolve(outcome).catch(failed) : outcome
    } catch (err) {
      return failed(err)
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

import type { Stream } from '@libp2p/interface'
import { MeshError } from '../errors.ts'
import type { BatchWriter } from './batch-writer.ts'
import { encodeMessage } from './codec.ts'
import { FRAME_VERSION } from './constants.ts'
import type { RequestFrame } from './frames.ts'
import type { CallContext, Caller, Grant } from './handler.ts'
import { isThenable, type MaybePromise } from './maybe-promise.ts'

/**
 * One call running on the agent: its deadline, and why it was stopped once it is (the caller
 * cancelled, the deadline passed, the caller went away, the agent is stopping). Its AbortSignal is
 * made only when the handler asks for it: most handlers never do, and an AbortController per call,
 * with a listener added and removed on its signal, showed in profiles of the call path.
 */
export class RunningCall {
  readonly id: number
  readonly peer: string
  /** The deadline the call runs under, in ms (the caller's timeout, clamped). */
  readonly timeout: number
  /** When the call must be over, in ms since the epoch. */
  readonly deadline: number
  /** Why the call was stopped; undefined while it runs. */
  reason: MeshError | undefined
  private onStop: ((reason: MeshError) => void) | undefined
  private controller: AbortController | undefined

  constructor(id: number, peer: string, timeout: number) {
    this.id = id
    this.peer = peer
    this.timeout = timeout
    this.deadline = Date.now() + timeout
  }

  /** Aborts when the call stops. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController()
      if (this.reason !== undefined) this.controller.abort(this.reason)
    }
    return this.controller.signal
  }

  /** Stop the call for `reason`: its signal aborts and a pending {@link race} rejects. Only the first reason counts. */
  stop(reason: MeshError): void {
    if (this.reason !== undefined) return
    this.reason = reason
    this.controller?.abort(reason)
    this.onStop?.(reason)
  }

  /**
   * `value` itself when it is not a thenable; else a promise of it that rejects with the stop reason
   * as soon as the call stops (a handler that ignores its signal does not hold the answer up).
   */
  race<T>(value: MaybePromise<T>): MaybePromise<T> {
    if (!isThenable(value)) return value
    if (this.reason !== undefined) return Promise.reject(this.reason)
    return new Promise<T>((resolve, reject) => {
      this.onStop = reject
      value.then(
        (result) => {
          this.onStop = undefined
          resolve(result)
        },
        (err: unknown) => {
          this.onStop = undefined
          reject(err)
        }
      )
    })
  }
}

/** The context a handler gets: the call's facts as fields; its signal, progress and checks from the call. */
export class ServerCallContext implements CallContext {
  readonly cmd: string
  readonly caller: Caller
  readonly deadline: number
  readonly grant: Grant
  traceparent?: string
  readonly #call: RunningCall
  readonly #stream: Stream
  readonly #writer: BatchWriter

  constructor(req: RequestFrame, call: RunningCall, grant: Grant, caller: Caller, stream: Stream, writer: BatchWriter) {
    this.cmd = req.cmd
    this.caller = caller
    this.deadline = call.deadline
    this.grant = grant
    if (req.trace !== undefined) this.traceparent = req.trace
    this.#call = call
    this.#stream = stream
    this.#writer = writer
  }

  get signal(): AbortSignal {
    return this.#call.signal
  }

  authorize(cmd: string, args: unknown): Promise<void> {
    return this.grant.allows(cmd, args)
  }

  async progress(data: unknown): Promise<void> {
    const call = this.#call
    if (call.reason !== undefined || this.#stream.status !== 'open' || this.#stream.writeStatus !== 'writable') return
    this.#writer.write(encodeMessage({ v: FRAME_VERSION, type: 'prog', id: call.id, data }))
    await this.#writer.ready({ signal: call.signal })
  }
}

/** The error of a call whose deadline passed. */
export function deadlineExceeded(call: RunningCall): MeshError {
  return new MeshError('DEADLINE_EXCEEDED', `deadline of ${call.timeout} ms exceeded`)
}

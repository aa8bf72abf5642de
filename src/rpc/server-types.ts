// The intent server's public types: what it needs of a libp2p node, its options, a served intent.
import type { IntentContract } from './contract.ts'
import type { CallAuthorizer, IntentHandler } from './handler.ts'
import type { ComponentLogger, Connection, Stream } from '@libp2p/interface'

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
   * Bytes of frames not yet whole the agent holds at most, across callers; one caller may make it
   * hold at most two largest frames (`2 * maxFrameBytes`), so that two large calls of one caller can
   * arrive side by side. Past either, the stream is answered `RESOURCE_EXHAUSTED` and reset.
   *
   * @default MAX_BUFFERED_FRAME_BYTES
   */
  maxBufferedBytes?: number
  /**
   * How long a frame not yet whole may go without a byte before its stream is answered
   * `DEADLINE_EXCEEDED` and reset, in ms.
   *
   * @default FRAME_STALL_MS
   */
  frameStallMs?: number
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
  /**
   * Idempotency keys remembered per caller (PeerId); a caller's one more key forgets its own oldest.
   *
   * @default MAX_IDEMPOTENCY_KEYS_PER_CALLER
   */
  idempotencyKeysPerCaller?: number
  /**
   * Callers whose idempotency keys are remembered; one more forgets the least recent caller's keys.
   *
   * @default MAX_IDEMPOTENCY_CALLERS
   */
  idempotencyCallers?: number
}

/** A served intent: its contract (schemas) and its handler. */
export interface ServedIntent {
  contract: IntentContract
  handler: IntentHandler
}

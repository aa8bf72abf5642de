/**
 * The wire format of `/agentmesh/rpc/1`, declared in one place.
 *
 * Every frame is a DAG-CBOR map prefixed by its length as an unsigned varint. Field names are short
 * words, not single letters, so that a capture reads as what it is. See `docs/protocol.md`.
 */
import { type ErrorCode, isErrorCode, MeshError } from '../errors.ts'
import { FRAME_VERSION } from './constants.ts'

/** Caller to agent: run intent `cmd` with `args`; the agent must answer within `timeout` ms. */
export interface RequestFrame {
  v: typeof FRAME_VERSION
  type: 'req'
  /** Call id, unique per stream, chosen by the caller. */
  id: number
  /** The intent (a `/`-segmented command such as `/k8s/scale`). */
  cmd: string
  /** Arguments: any IPLD data model value. */
  args: unknown
  /** Time left to the caller's deadline, in ms, when the frame was sent (as gRPC's `grpc-timeout`). */
  timeout: number
  /** Idempotency key: a retry with the same key (same caller, same intent, same args) gets the handler's first outcome. */
  idem?: string
  /** W3C trace context `traceparent` of the caller's span. */
  trace?: string
  /** Authority for the call, as the agent's authorizer reads it (a UCAN invocation or chain reference). */
  auth?: unknown
}

/** Agent to caller: a progress event or partial result of call `id`. Not terminal; any number may come. */
export interface ProgressFrame {
  v: typeof FRAME_VERSION
  type: 'prog'
  id: number
  data: unknown
}

/** Agent to caller: the call succeeded with `result`. Terminal. */
export interface ResultFrame {
  v: typeof FRAME_VERSION
  type: 'res'
  id: number
  result: unknown
}

/** Agent to caller: the call failed. Terminal. */
export interface ErrorFrame {
  v: typeof FRAME_VERSION
  type: 'err'
  /** The call id, or 0 when the error concerns the stream (a frame that could not be read). */
  id: number
  code: ErrorCode
  message: string
  details?: Record<string, unknown>
}

/** Caller to agent: stop working on call `id`; no answer is expected. */
export interface CancelFrame {
  v: typeof FRAME_VERSION
  type: 'cancel'
  id: number
}

/** Any frame of protocol version 1. */
export type Frame = RequestFrame | ProgressFrame | ResultFrame | ErrorFrame | CancelFrame

/** W3C trace context: version 00, 16-byte trace id, 8-byte parent id, flags; all-zero ids are invalid. */
export const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/

function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  )
}

function isCallId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

function invalid(message: string): MeshError {
  return new MeshError('INVALID_ARGUMENT', `malformed frame: ${message}`)
}

/**
 * Check that a decoded value is a well-formed frame and return it typed.
 *
 * @throws {MeshError} `INVALID_ARGUMENT` naming what is wrong, `UNIMPLEMENTED` for another version.
 */
export function parseFrame(value: unknown): Frame {
  if (!isRecord(value)) throw invalid('not a map')
  if (value.v !== FRAME_VERSION) {
    throw new MeshError('UNIMPLEMENTED', `unsupported frame version ${String(value.v)}`)
  }
  if (!isCallId(value.id)) throw invalid('id must be a non-negative integer')
  switch (value.type) {
    case 'req':
      if (typeof value.cmd !== 'string' || value.cmd.length === 0 || value.cmd.length > 1024) {
        throw invalid('cmd must be a non-empty string')
      }
      if (typeof value.timeout !== 'number' || !Number.isFinite(value.timeout) || value.timeout < 0) {
        throw invalid('timeout must be a non-negative number of ms')
      }
      if (!('args' in value)) throw invalid('args missing')
      if (value.idem !== undefined && (typeof value.idem !== 'string' || value.idem.length === 0 || value.idem.length > 256)) {
        throw invalid('idem must be a string of 1 to 256 characters')
      }
      if (value.trace !== undefined && (typeof value.trace !== 'string' || !TRACEPARENT.test(value.trace))) {
        throw invalid('trace must be a W3C traceparent')
      }
      return value as unknown as RequestFrame
    case 'prog':
      if (!('data' in value)) throw invalid('data missing')
      return value as unknown as ProgressFrame
    case 'res':
      if (!('result' in value)) throw invalid('result missing')
      return value as unknown as ResultFrame
    case 'err': {
      if (typeof value.message !== 'string') throw invalid('message must be a string')
      if (value.details !== undefined && !isRecord(value.details)) throw invalid('details must be a map')
      const code = isErrorCode(value.code) ? value.code : 'UNKNOWN'
      return { ...(value as unknown as ErrorFrame), code }
    }
    case 'cancel':
      return value as unknown as CancelFrame
    default:
      throw invalid(`unknown type ${JSON.stringify(String(value.type)).slice(0, 40)}`)
  }
}

/** The error frame that carries `err` to the caller: code, message and details, never a stack. */
export function errorFrame(id: number, err: MeshError): ErrorFrame {
  const frame: ErrorFrame = { v: FRAME_VERSION, type: 'err', id, code: err.code, message: err.message }
  if (err.details !== undefined) frame.details = err.details
  return frame
}

/** The MeshError an error frame describes. */
export function errorFromFrame(frame: ErrorFrame): MeshError {
  return new MeshError(
    frame.code,
    frame.message,
    frame.details === undefined ? {} : { details: frame.details }
  )
}

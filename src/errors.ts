/**
 * The one error class of agentmesh and its closed set of codes.
 *
 * Codes are the gRPC status names a caller can act on. They cross the wire unchanged; stack traces
 * never do.
 *
 * @example
 * ```ts
 * import { MeshError } from 'agentmesh'
 *
 * let refusal: string | undefined
 * try {
 *   await agent.call('acme/prod/k8s', '/k8s/scale', { replicas: 3 })
 * } catch (err) {
 *   if (MeshError.is(err, 'PERMISSION_DENIED')) refusal = err.message // the UCAN reason, for the planner
 * }
 * ```
 *
 * @packageDocumentation
 */

/** Every code a {@link MeshError} can carry. The set is closed: unknown codes read as `UNKNOWN`. */
export const ERROR_CODES = [
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'UNAUTHENTICATED'
] as const

/** A stable error code, named as gRPC names its status codes. */
export type ErrorCode = (typeof ERROR_CODES)[number]

const CODE_SET: ReadonlySet<string> = new Set(ERROR_CODES)

/** Options for a {@link MeshError}. */
export interface MeshErrorOptions {
  /** Machine-readable details that may cross the wire (plain data only). */
  details?: Record<string, unknown>
  /** The underlying error, kept locally and never sent over the wire. */
  cause?: unknown
}

/**
 * The error every agentmesh API throws or rejects with.
 *
 * @example
 * ```ts
 * throw new MeshError('INVALID_ARGUMENT', 'replicas must be a positive integer', { details: { field: 'replicas' } })
 * ```
 */
export class MeshError extends Error {
  /** The stable, machine-readable code. */
  readonly code: ErrorCode
  /** Optional machine-readable details. */
  readonly details?: Record<string, unknown>

  constructor(code: ErrorCode, message: string, options: MeshErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'MeshError'
    this.code = code
    if (options.details !== undefined) this.details = options.details
  }

  /**
   * True when `err` is a MeshError, and, if `code` is given, carries that code.
   *
   * @example
   * ```ts
   * if (MeshError.is(err, 'UNAVAILABLE')) retry()
   * ```
   */
  static is(err: unknown, code?: ErrorCode): err is MeshError {
    return err instanceof MeshError && (code === undefined || err.code === code)
  }

  /**
   * Normalise anything thrown into a MeshError. Non-mesh errors become `INTERNAL` with a generic
   * message, so that no local detail (paths, stack, secrets in messages) leaks to a remote caller.
   *
   * @example
   * ```ts
   * const meshErr = MeshError.from(new Error('boom')) // code 'INTERNAL'
   * ```
   */
  static from(err: unknown, fallback: ErrorCode = 'INTERNAL'): MeshError {
    if (err instanceof MeshError) return err
    if (isAbortError(err)) return new MeshError('CANCELLED', 'the operation was aborted', { cause: err })
    return new MeshError(fallback, fallback === 'INTERNAL' ? 'internal error' : String(err), { cause: err })
  }
}

/**
 * True when `code` belongs to the closed set of {@link ErrorCode}s.
 *
 * @example
 * ```ts
 * import { isErrorCode } from 'agentmesh'
 *
 * console.log(isErrorCode('PERMISSION_DENIED')) // true
 * console.log(isErrorCode('FORBIDDEN'))         // false
 * ```
 */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && CODE_SET.has(code)
}

function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError')
}

import { type ErrorCode, MeshError } from '../errors.ts'

/**
 * Why a UCAN operation failed. The first nine are the names the UCAN spec and its fixtures use;
 * the others describe input this library cannot read at all.
 */
export type UcanErrorReason =
  | 'InvalidClaim'
  | 'UnavailableProof'
  | 'Expired'
  | 'TooEarly'
  | 'InvalidAudience'
  | 'InvalidSubject'
  | 'InvalidSignature'
  | 'MatchError'
  | 'Revoked'
  | 'MalformedToken'
  | 'InvalidPolicy'
  | 'InvalidCommand'

const CODES: Record<UcanErrorReason, ErrorCode> = {
  InvalidClaim: 'PERMISSION_DENIED',
  UnavailableProof: 'PERMISSION_DENIED',
  Expired: 'PERMISSION_DENIED',
  TooEarly: 'PERMISSION_DENIED',
  InvalidAudience: 'PERMISSION_DENIED',
  InvalidSubject: 'PERMISSION_DENIED',
  InvalidSignature: 'PERMISSION_DENIED',
  MatchError: 'PERMISSION_DENIED',
  Revoked: 'PERMISSION_DENIED',
  MalformedToken: 'INVALID_ARGUMENT',
  InvalidPolicy: 'INVALID_ARGUMENT',
  InvalidCommand: 'INVALID_ARGUMENT'
}

/**
 * The error of the UCAN layer: a {@link MeshError} whose `reason` (and `name`) is the spec's name
 * of the failure. Authority failures carry code `PERMISSION_DENIED`; unreadable tokens, policies
 * and commands carry `INVALID_ARGUMENT`.
 *
 * @example
 * ```ts
 * try {
 *   await validate(invocation, { proofs })
 * } catch (err) {
 *   if (UcanError.is(err, 'Expired')) renew()
 * }
 * ```
 */
export class UcanError extends MeshError {
  /** The spec's name of the failure, e.g. `'InvalidAudience'`. */
  readonly reason: UcanErrorReason

  constructor(
    reason: UcanErrorReason,
    message: string,
    options: { details?: Record<string, unknown>; cause?: unknown } = {}
  ) {
    super(CODES[reason], message, { details: { reason, ...options.details }, cause: options.cause })
    this.name = reason
    this.reason = reason
  }

  /**
   * True when `err` is a UcanError, and, if given, has that reason.
   *
   * @example
   * ```ts
   * UcanError.is(err, 'MatchError')
   * ```
   */
  static override is(err: unknown, reason?: UcanErrorReason | ErrorCode): err is UcanError {
    if (!(err instanceof UcanError)) return false
    return reason === undefined || err.reason === reason || err.code === reason
  }
}

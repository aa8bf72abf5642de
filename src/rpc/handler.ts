/** What an intent handler receives and returns. */

/** Who is calling, as proven by the connection's noise handshake. */
export interface Caller {
  /** The caller's libp2p PeerId, as a string (`12D3KooW…`). */
  peer: string
}

/** The context of one call, given to its handler. */
export interface CallContext {
  /** The intent being run. */
  cmd: string
  /** The authenticated caller. */
  caller: Caller
  /** Aborts when the caller cancels, the deadline passes, or the agent stops. */
  signal: AbortSignal
  /** The call's deadline, in ms since the epoch (agent clock). */
  deadline: number
}

/** Runs one intent. Whatever it returns (DAG-CBOR encodable) is the call's result. */
export type IntentHandler<Args = unknown, Result = unknown> = (
  args: Args,
  ctx: CallContext
) => Result | Promise<Result>

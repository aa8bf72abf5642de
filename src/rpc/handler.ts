/** What an intent handler receives, and the hook through which an agent authorizes calls. */
import type { Connection } from '@libp2p/interface'

/** Who is calling. The peer is proven by the connection's noise handshake. */
export interface Caller {
  /** The caller's libp2p PeerId (`12D3KooW…`). */
  peer: string
  /** The caller's `did:key`, the same key as `peer`. */
  did: string
  /** The caller's name, when the caller is a named agent. */
  name?: string
}

/** The context of one call, given to its handler. */
export interface CallContext<Progress = unknown> {
  /** The intent being run. */
  cmd: string
  /** The authenticated caller. */
  caller: Caller
  /** Aborts when the caller cancels, the deadline passes, or the agent stops. */
  signal: AbortSignal
  /** The call's deadline, in ms since the epoch (agent clock). */
  deadline: number
  /** The caller's W3C `traceparent`, when it sent one. */
  traceparent?: string
  /**
   * Send a progress event or partial result to the caller; resolves once the stream can take more
   * (backpressure). Does nothing once the call is over.
   */
  progress(data: Progress): Promise<void>
  /**
   * Check a concrete action derived from this intent (a kubectl verb, a parsed SQL statement)
   * against the caller's authority and the agent's local policy, before doing it.
   *
   * @throws {MeshError} `PERMISSION_DENIED` with the reason; the action must then not be run
   */
  authorize(cmd: string, args: unknown): Promise<void>
  /** What the authorizer granted for this call (for example the caller's validated UCAN chain). */
  grant: Grant
}

/** Runs one intent. Whatever it returns (DAG-CBOR encodable) is the call's result. */
export type IntentHandler<Args = unknown, Result = unknown, Progress = unknown> = (
  args: Args,
  ctx: CallContext<Progress>
) => Result | Promise<Result>

/** What an authorizer decided about one call: who the caller is, and how to check derived actions. */
export interface Grant {
  /** What the authorizer learned of the caller beyond its peer (did, name). */
  caller?: Partial<Caller>
  /** Check a derived action; throws `PERMISSION_DENIED` when it is not allowed. */
  allows(cmd: string, args: unknown): Promise<void>
  /** Opaque details for the embedding application (chain CIDs, root authority…). */
  details?: Record<string, unknown>
}

/** One call as the authorizer sees it. */
export interface AuthorizationRequest {
  cmd: string
  /** The arguments after schema validation: what the handler will get. */
  args: unknown
  /** The arguments as they arrived on the wire. */
  rawArgs: unknown
  /** The request's `auth` field, as the caller sent it. */
  auth: unknown
  /** The connection the call arrived on; its `remotePeer` is authenticated. */
  connection: Connection
}

/**
 * Decides whether a call may run. Deny by default: throw (or reject with) a `PERMISSION_DENIED`
 * MeshError, with the reason, for anything not positively allowed. It may answer synchronously
 * (a cached chain) or with a promise.
 */
export interface CallAuthorizer {
  /**
   * Decide on one call, before its handler runs: return the {@link Grant} (who the caller is, how
   * to check its derived actions) or throw `PERMISSION_DENIED` with the reason.
   */
  authorize(request: AuthorizationRequest): Grant | Promise<Grant>
}

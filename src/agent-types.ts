/** The public types of the agent facade: its options, its handlers and the running agent. */
import type { PrivateKey } from '@libp2p/interface'
import type { Libp2p, Libp2pOptions } from 'libp2p'
import type { Ed25519Signer } from './identity/index.ts'
import type { NameRecord } from './names/index.ts'
import type { RelayKeeper, RelayKeeperInit } from './net/index.ts'
import type { AuditSink, LocalPolicy } from './policy/index.ts'
import type {
  AgentCard,
  ArgsOf,
  CallAuthorizer,
  CallContext,
  CallOptions,
  CallStream,
  IntentContract,
  ProgressOf,
  ResultOf
} from './rpc/index.ts'
import type { Delegation, RevocationStore } from './ucan/index.ts'

/** Options of `createAgent`. */
export interface AgentOptions {
  /**
   * The agent's name (`org/…/agent`). An edge agent has one and registers it on its relays; an
   * orchestrator that only calls may leave it out.
   */
  name?: string
  /** Relay multiaddrs, each ending in `/p2p/<relay-id>`. The agent dials out to them only. */
  relays: string[]
  /** The agent's key (a signer from `agentmesh/identity`, or a libp2p private key); fresh when omitted. */
  identity?: Ed25519Signer | PrivateKey
  /**
   * Authorities this agent trusts: organisation → `did:key`. A call runs only when its UCAN chain is
   * rooted in one of them (deny by default: with no `trust` and no `authorizer`, every call is
   * refused), and a name resolves only when its record's naming right roots in the authority of the
   * name's organisation.
   */
  trust?: Record<string, string>
  /**
   * Delegations this agent holds: its naming right (`/agentmesh/name`, needed with `name`) and the
   * capabilities it uses to call other agents.
   */
  proofs?: ReadonlyArray<Delegation | Uint8Array>
  /** The agent's own rules, applied after a caller's UCAN chain allowed a call or a derived action. */
  localPolicy?: LocalPolicy
  /** Where every authorization decision goes. */
  audit?: AuditSink
  /** Revoked delegations. */
  revoked?: RevocationStore
  /** Replace the UCAN authorizer (for example with `allowAuthenticatedPeers()` in a local sandbox). */
  authorizer?: CallAuthorizer
  /** The agent's version, for its card. */
  version?: string
  /** What the agent does, for its card. */
  description?: string
  /** Relay keeper tuning: how many relays to hold at once, backoff, renewal margin. */
  keeper?: Omit<RelayKeeperInit, 'relays' | 'onReservation'>
  /**
   * Upgrade relayed connections to direct ones with DCUtR where both sides allow it: calls then move
   * to the direct connection and the relay leaves the data path. With TCP this works when one side
   * has a public address it announces (for example an orchestrator given
   * `libp2p: { addresses: { listen: [addr], appendAnnounce: [addr] } }`); between two NATs calls stay
   * relayed. Either way calls are authorized on the caller's identity, whatever the path. New calls
   * take the direct connection as soon as it opens; calls already running on the relayed one finish
   * there, and it closes once it has been idle for 2 s. A `dcutr` service of your own in
   * `libp2p.services` replaces agentmesh's, and closes the relayed connection at once.
   *
   * @default true
   */
  directUpgrade?: boolean
  /**
   * Limits on calls served: calls in flight on the agent and per caller (refused at once with
   * `RESOURCE_EXHAUSTED` beyond them), the largest frame, the bytes of frames not yet whole the
   * agent holds across callers (`maxBufferedBytes`, 4 largest frames by default; one caller may make
   * it hold two largest frames at most), and the idempotency keys remembered per caller and the
   * callers they are remembered for (see `IntentServerInit`). A stream that goes past the frame
   * bytes is answered `RESOURCE_EXHAUSTED` and reset; one whose frame has had no byte for
   * `frameStallMs` (30 s by default), `DEADLINE_EXCEEDED`.
   */
  limits?: {
    maxInflight?: number
    maxCallsPerCaller?: number
    maxFrameBytes?: number
    maxBufferedBytes?: number
    frameStallMs?: number
    idempotencyKeysPerCaller?: number
    idempotencyCallers?: number
  }
  /**
   * How long a name registration lasts before the agent renews it, in ms: at most 1 hour (a longer
   * one makes `createAgent` fail with `INVALID_ARGUMENT`; relays and resolvers refuse such records).
   *
   * @default 300000 (5 min)
   */
  recordTtl?: number
  /**
   * Extra libp2p options (transports, connection manager…) merged over the defaults. A
   * `streamMuxers` given here replaces the library's yamux; keep its stream window at most
   * libp2p's 4 MiB read buffer (`maxStreamWindowSize`), or a paused stream can be reset.
   */
  libp2p?: Partial<Libp2pOptions>
}

/** Options of a call made through the agent facade. */
export interface AgentCallOptions extends CallOptions {
  /** Send a fully signed UCAN invocation (for audit trails and intermediaries) instead of a chain reference. */
  signed?: boolean
  /** More delegations to search and present for this call (for example ones handed over by a caller). */
  proofs?: ReadonlyArray<Delegation | Uint8Array>
}

/** A handler's context, plus the agent-to-agent call made on the caller's behalf. */
export interface AgentCallContext<Progress = unknown> extends CallContext<Progress> {
  /**
   * Call another agent on behalf of this call's caller: the delegations the caller handed over on
   * this connection are presented with the agent's own, so the callee sees a chain that can never
   * grant more than the caller had.
   */
  call: Agent['call']
}

/** A handler served through the agent facade. */
export type AgentHandler<Args = unknown, Result = unknown, Progress = unknown> = (
  args: Args,
  ctx: AgentCallContext<Progress>
) => Result | Promise<Result>

/** A running agent: serves intents under its name and calls other agents by name. */
export interface Agent {
  /** The agent's PeerId. */
  readonly peerId: string
  /** The agent's `did:key` (the same key as its PeerId). */
  readonly did: string
  /** The agent's name, if it has one. */
  readonly name: string | undefined
  /** The circuit addresses at which the agent is reachable through its relays. */
  readonly addrs: string[]
  /** The underlying libp2p node, for advanced use. */
  readonly node: Libp2p
  /**
   * Holds the relay reservations of an edge agent (undefined for a caller without a name); emits
   * `relay:connected`, `relay:disconnected` and `reservation:renewed`.
   */
  readonly keeper: RelayKeeper | undefined
  /** Serve an intent declared with `defineIntent`, its handler typed from the contract. */
  handle<C extends IntentContract>(intent: C, handler: AgentHandler<ArgsOf<C>, ResultOf<C>, ProgressOf<C>>): Agent
  /** Serve an intent given by command only. */
  handle<Args = unknown, Result = unknown>(intent: string, handler: AgentHandler<Args, Result>): Agent
  /**
   * Call `intent` on the agent named `name`, through its relays.
   *
   * @throws {MeshError} `NOT_FOUND` (unknown name), `FAILED_PRECONDITION` (the caller's `trust` has
   * no authority for the name's organisation), `PERMISSION_DENIED` (with the UCAN reason),
   * `UNIMPLEMENTED` (unknown intent), `INVALID_ARGUMENT`, `DEADLINE_EXCEEDED`, `CANCELLED`,
   * `UNAVAILABLE`, `RESOURCE_EXHAUSTED`, or the handler's own code
   */
  call<C extends IntentContract>(name: string, intent: C, args: ArgsOf<C>, options?: AgentCallOptions): Promise<ResultOf<C>>
  /**
   * Call an intent given by command only; its arguments and result are not checked against a type.
   *
   * @throws {MeshError} `NOT_FOUND`, `FAILED_PRECONDITION`, `PERMISSION_DENIED`, `UNIMPLEMENTED`,
   * `INVALID_ARGUMENT`, `DEADLINE_EXCEEDED`, `CANCELLED`, `UNAVAILABLE`, `RESOURCE_EXHAUSTED`, or the
   * handler's own code, as for a call with a contract
   */
  call<Result = unknown>(name: string, intent: string, args?: unknown, options?: AgentCallOptions): Promise<Result>
  /** Call an intent and read its progress events with `for await`; the result is `stream.result`. */
  stream<C extends IntentContract>(
    name: string,
    intent: C,
    args: ArgsOf<C>,
    options?: AgentCallOptions
  ): CallStream<ProgressOf<C>, ResultOf<C>>
  /** Stream an intent given by command only; its progress events and result are not checked against a type. */
  stream<Progress = unknown, Result = unknown>(
    name: string,
    intent: string,
    args?: unknown,
    options?: AgentCallOptions
  ): CallStream<Progress, Result>
  /**
   * Resolve `name` to its verified record, with the agent's `did:key` (to delegate to it, for example).
   *
   * @throws {MeshError} `NOT_FOUND`, `FAILED_PRECONDITION` (no trusted authority for its organisation), `UNAVAILABLE`
   */
  resolve(name: string, options?: { signal?: AbortSignal }): Promise<NameRecord & { did: string }>
  /** Ask the agent named `name` for its card: its intents with JSON Schemas, for planning. */
  card(name: string, options?: { signal?: AbortSignal; timeout?: number }): Promise<AgentCard>
  /** Hold more delegations for later calls. */
  addProofs(proofs: ReadonlyArray<Delegation | Uint8Array>): void
  /** Stop serving (in-flight calls fail with `UNAVAILABLE`) and close every connection. */
  stop(): Promise<void>
}

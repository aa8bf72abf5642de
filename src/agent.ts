import type { Connection, PrivateKey } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p, Libp2pOptions } from 'libp2p'
import { MeshError } from './errors.ts'
import { didFromPeerId, type Ed25519Signer, generateSigner, signerFromPrivateKey } from './identity/index.ts'
import {
  ADMISSION_PROTOCOL,
  answerAdmission,
  assertName,
  DEFAULT_RECORD_TTL_MS,
  NameResolver,
  registerRecord,
  type NameRecord,
  type SignedNameRecord,
  signNameRecord
} from './names/index.ts'
import { createAgentNode, type RelayKeeper, type RelayKeeperInit } from './net/index.ts'
import {
  type AuditSink,
  CapabilityPresenter,
  denyAll,
  type LocalPolicy,
  presentedProofs,
  ucanAuthorizer
} from './policy/index.ts'
import {
  type AgentCard,
  type ArgsOf,
  answerCard,
  buildCard,
  CARD_PROTOCOL,
  type CallAuthorizer,
  type CallContext,
  type CallOptions,
  type CallStream,
  callOnConnection,
  DEFAULT_CALL_TIMEOUT_MS,
  defineIntent,
  fetchCard,
  type IntentContract,
  type IntentHandler,
  IntentServer,
  type ProgressOf,
  type ResultOf,
  toCallStream
} from './rpc/index.ts'
import type { Delegation, RevocationStore } from './ucan/index.ts'

/** Options of {@link createAgent}. */
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
   * relayed. Either way calls are authorized on the caller's identity, whatever the path.
   *
   * @default true
   */
  directUpgrade?: boolean
  /**
   * Limits on calls served: calls in flight on the agent and per caller (refused at once with
   * `RESOURCE_EXHAUSTED` beyond them) and the largest frame.
   */
  limits?: { maxInflight?: number; maxCallsPerCaller?: number; maxFrameBytes?: number }
  /**
   * How long a name registration lasts before the agent renews it, in ms.
   *
   * @default DEFAULT_RECORD_TTL_MS
   */
  recordTtl?: number
  /** Extra libp2p options (transports, connection manager…) merged over the defaults. */
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
   * @throws {MeshError} `NOT_FOUND` (unknown name), `PERMISSION_DENIED` (with the UCAN reason),
   * `UNIMPLEMENTED` (unknown intent), `INVALID_ARGUMENT`, `DEADLINE_EXCEEDED`, `CANCELLED`,
   * `UNAVAILABLE`, `RESOURCE_EXHAUSTED`, or the handler's own code
   */
  call<C extends IntentContract>(name: string, intent: C, args: ArgsOf<C>, options?: AgentCallOptions): Promise<ResultOf<C>>
  call<Result = unknown>(name: string, intent: string, args?: unknown, options?: AgentCallOptions): Promise<Result>
  /** Call an intent and read its progress events with `for await`; the result is `stream.result`. */
  stream<C extends IntentContract>(
    name: string,
    intent: C,
    args: ArgsOf<C>,
    options?: AgentCallOptions
  ): CallStream<ProgressOf<C>, ResultOf<C>>
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

function toContract(intent: IntentContract | string): IntentContract {
  return typeof intent === 'string' ? defineIntent({ cmd: intent }) : intent
}

function toSigner(identity: Ed25519Signer | PrivateKey | undefined): Ed25519Signer {
  if (identity === undefined) return generateSigner()
  return 'toPrivateKey' in identity ? identity : signerFromPrivateKey(identity)
}

function checkRelays(relays: string[]): string[] {
  if (relays.length === 0) throw new MeshError('INVALID_ARGUMENT', 'an agent needs at least one relay')
  return relays.map((addr) => {
    const ma = multiaddr(addr)
    if (ma.getComponents().findLast((c) => c.name === 'p2p') === undefined) {
      throw new MeshError('INVALID_ARGUMENT', `relay address ${addr} must end in /p2p/<relay-id>`)
    }
    return ma.toString()
  })
}

/**
 * Start an agent: an edge agent when given a `name` (it reserves a circuit slot on each relay and
 * registers its name there), an orchestrator when not. Either way it only dials out. Calls are
 * refused unless the caller's UCAN chain roots in a `trust`ed authority and allows the intent and
 * its arguments.
 *
 * @example
 * ```ts
 * import { createAgent, defineIntent } from 'agentmesh'
 *
 * const greet = defineIntent({ cmd: '/greet' })
 * const agent = await createAgent({ name: 'acme/prod/demo', relays: [relayAddr], trust: { acme: authorityDid } })
 * agent.handle(greet, (args, ctx) => `hello ${ctx.caller.did}`)
 *
 * const caller = await createAgent({ relays: [relayAddr], identity: orchestratorKey, proofs: [delegation] })
 * const result = await caller.call('acme/prod/demo', greet, {}, { timeout: 5_000 })
 * ```
 */
export async function createAgent(options: AgentOptions): Promise<Agent> {
  if (options.name !== undefined) assertName(options.name)
  const relays = checkRelays(options.relays)
  const name = options.name
  const signer = toSigner(options.identity)
  const presenter = new CapabilityPresenter(signer, options.proofs ?? [])
  const ttl = options.recordTtl ?? DEFAULT_RECORD_TTL_MS
  let seq = 0
  const signRecord = (addrs: string[]): Promise<SignedNameRecord> => {
    seq = Math.max(seq + 1, Date.now())
    return signNameRecord({ signer, name: name!, addrs, seq, ttl, proofs: presenter.delegations() })
  }
  // an agent with a name must hold the right to it before it asks any relay for anything
  let record = name === undefined ? undefined : await signRecord([])
  // the keeper calls back after each new reservation (restart, failover): publish the new addresses
  const hook: { onReservation: () => Promise<void> } = { onReservation: async () => {} }
  const node = await createAgentNode({
    relays: name === undefined ? [] : relays,
    privateKey: signer.toPrivateKey(),
    keeper: { ...options.keeper, onReservation: () => hook.onReservation() },
    ...(options.directUpgrade === undefined ? {} : { directUpgrade: options.directUpgrade }),
    libp2p: { ...options.libp2p, start: false }
  })
  const keeper = (node.services as Record<string, unknown>).relayKeeper as RelayKeeper | undefined
  const log = node.logger.forComponent('agentmesh:agent')
  const authorizer =
    options.authorizer ??
    (options.trust === undefined
      ? denyAll()
      : ucanAuthorizer({
          trust: options.trust,
          agentDid: signer.did,
          ...(options.localPolicy === undefined ? {} : { localPolicy: options.localPolicy }),
          ...(options.audit === undefined ? {} : { audit: options.audit }),
          ...(options.revoked === undefined ? {} : { revoked: options.revoked })
        }))
  const server = new IntentServer({ registrar: node, logger: node.logger }, { authorizer, ...options.limits })
  const dial = (addr: string, opts?: { signal?: AbortSignal }): Promise<Connection> => node.dial(multiaddr(addr), opts)
  const resolver = new NameResolver(
    { dial, log: node.logger.forComponent('agentmesh:resolver') },
    { relays, trust: options.trust ?? {}, ...(options.revoked === undefined ? {} : { revoked: options.revoked }) }
  )
  const circuitAddrs = (): string[] =>
    node
      .getMultiaddrs()
      .map((ma) => ma.toString())
      .filter((a) => a.includes('/p2p-circuit/'))
  let renewTimer: ReturnType<typeof setTimeout> | undefined
  const dialing = new Map<string, Promise<Connection>>()

  /** An open connection to `peer`: the existing one, the dial already under way, or a new dial. */
  const connectTo = async (peer: string, addrs: string[], signal: AbortSignal): Promise<Connection> => {
    const open = node.getConnections().find((c) => c.remotePeer.toString() === peer && c.status === 'open')
    if (open !== undefined) return open
    let pending = dialing.get(peer)
    if (pending === undefined) {
      pending = node
        .dial(
          addrs.map((a) => multiaddr(a)),
          { signal }
        )
        .finally(() => dialing.delete(peer))
      dialing.set(peer, pending)
    }
    return await pending
  }

  const register = async (): Promise<void> => {
    if (name === undefined) return
    const addrs = circuitAddrs()
    if (addrs.length === 0) throw new MeshError('UNAVAILABLE', 'no relay granted a reservation')
    const signed = await signRecord(addrs)
    record = signed
    const results = await Promise.allSettled(relays.map(async (relay) => registerRecord(await dial(relay), signed)))
    if (!results.some((r) => r.status === 'fulfilled')) {
      throw MeshError.from(results.find((r) => r.status === 'rejected')?.reason, 'UNAVAILABLE')
    }
  }
  const scheduleRenewal = (): void => {
    renewTimer = setTimeout(() => {
      register()
        .catch((err: unknown) => log('renewal failed - %e', err))
        .finally(scheduleRenewal)
    }, ttl / 2)
    renewTimer.unref?.()
  }

  /** Resolve `target`, dial it through a relay, and run one call with the right capability. */
  const callByName = async (
    target: string,
    intent: string,
    args: unknown,
    callOptions: AgentCallOptions,
    onProgress?: (data: unknown) => void
  ): Promise<unknown> => {
    const timeout = callOptions.timeout ?? DEFAULT_CALL_TIMEOUT_MS
    const deadline = Date.now() + timeout
    const signal = AbortSignal.any([AbortSignal.timeout(timeout), ...(callOptions.signal ? [callOptions.signal] : [])])
    try {
      const record = await resolver.resolve(target, { signal })
      const addrs = record.addrs.filter((a) => a.endsWith(`/p2p/${record.peer}`))
      if (addrs.length === 0) throw new MeshError('NOT_FOUND', `the record of ${target} has no usable address`)
      let connection: Connection
      try {
        connection = await connectTo(record.peer, addrs, signal)
      } catch (err) {
        resolver.invalidate(target)
        throw new MeshError('UNAVAILABLE', `cannot reach ${target}: ${(err as Error).message}`, { cause: err })
      }
      const once = async (): Promise<unknown> => {
        const auth = await presenter.authFor(connection, intent, args, {
          audience: didFromPeerId(record.peer),
          ...(callOptions.signed === undefined ? {} : { signed: callOptions.signed }),
          ...(callOptions.proofs === undefined ? {} : { extra: callOptions.proofs })
        })
        return await callOnConnection(connection, intent, args, {
          ...callOptions,
          timeout: Math.max(0, deadline - Date.now()),
          ...(auth === undefined ? {} : { auth }),
          ...(onProgress === undefined ? {} : { onProgress })
        })
      }
      try {
        return await once()
      } catch (err) {
        // the agent never stored our delegations (the first call was refused before it read them): present again
        if (MeshError.is(err, 'PERMISSION_DENIED') && err.details?.reason === 'UnavailableProof') {
          presenter.forget(connection)
          return await once()
        }
        throw err
      }
    } catch (err) {
      if (callOptions.signal?.aborted === true) throw new MeshError('CANCELLED', 'the call was cancelled by the caller')
      if (signal.aborted && !MeshError.is(err, 'DEADLINE_EXCEEDED')) {
        throw new MeshError('DEADLINE_EXCEEDED', `no result within ${timeout} ms`)
      }
      throw MeshError.from(err, 'UNAVAILABLE')
    }
  }

  const agent: Agent = {
    peerId: node.peerId.toString(),
    did: signer.did,
    name,
    get addrs() {
      return circuitAddrs()
    },
    node,
    keeper,
    handle(intent: IntentContract | string, handler: AgentHandler<never, unknown, never>) {
      const contract = toContract(intent)
      const wrapped: IntentHandler = (args, ctx) => {
        const handedOver = (ctx.grant.details?.connection as Connection | undefined) ?? undefined
        const onward = handedOver === undefined ? [] : presentedProofs(handedOver)
        const agentCtx: AgentCallContext = {
          ...ctx,
          call: ((target: string, i: IntentContract | string, a?: unknown, o: AgentCallOptions = {}) =>
            agent.call(target, i as string, a, { ...o, proofs: [...onward, ...(o.proofs ?? [])] })) as Agent['call']
        }
        return handler(args as never, agentCtx as AgentCallContext<never>)
      }
      server.handle(contract, wrapped)
      return agent
    },
    async call(target: string, intent: IntentContract | string, args: unknown = null, callOptions: AgentCallOptions = {}) {
      return (await callByName(target, toContract(intent).cmd, args, callOptions)) as never
    },
    stream(target: string, intent: IntentContract | string, args: unknown = null, callOptions: AgentCallOptions = {}) {
      return toCallStream((onProgress) => callByName(target, toContract(intent).cmd, args, callOptions, onProgress))
    },
    async resolve(target, resolveOptions = {}) {
      const record = await resolver.resolve(target, resolveOptions)
      return { ...record, did: didFromPeerId(record.peer) }
    },
    async card(target, cardOptions = {}) {
      const signal = AbortSignal.any([
        AbortSignal.timeout(cardOptions.timeout ?? DEFAULT_CALL_TIMEOUT_MS),
        ...(cardOptions.signal ? [cardOptions.signal] : [])
      ])
      const record = await resolver.resolve(target, { signal })
      const addrs = record.addrs.filter((a) => a.endsWith(`/p2p/${record.peer}`))
      const connection = await connectTo(record.peer, addrs, signal)
      return await fetchCard(connection, { signal })
    },
    addProofs(proofs) {
      presenter.add(proofs)
    },
    async stop() {
      clearTimeout(renewTimer)
      await server.stop()
      await node.stop()
    }
  }

  await server.start()
  await node.handle(
    ADMISSION_PROTOCOL,
    (stream) => {
      if (record === undefined) {
        stream.abort(new MeshError('PERMISSION_DENIED', 'this peer holds no name'))
        return
      }
      answerAdmission(stream, record).catch((err: unknown) => stream.abort(err as Error))
    },
    { runOnLimitedConnection: true }
  )
  await node.handle(
    CARD_PROTOCOL,
    (stream) => {
      const card = buildCard(
        { name, peer: node.peerId.toString(), version: options.version, description: options.description },
        server.served(),
        server.inflightCount
      )
      answerCard(stream, card).catch((err: unknown) => stream.abort(err as Error))
    },
    { runOnLimitedConnection: true }
  )
  try {
    await node.start()
    await register()
    hook.onReservation = register
    keeper?.addEventListener('relay:disconnected', () => {
      // the circuit address through that relay is gone: republish what is left
      register().catch((err: unknown) => log('re-registration failed - %e', err))
    })
  } catch (err) {
    await server.stop()
    await node.stop()
    throw err
  }
  if (name !== undefined) scheduleRenewal()
  return agent
}

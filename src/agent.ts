import type { Connection, PrivateKey } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { MeshError } from './errors.ts'
import { didFromPeerId, type Ed25519Signer, generateSigner, signerFromPrivateKey } from './identity/index.ts'
import {
  ADMISSION_PROTOCOL,
  assertName,
  DEFAULT_RECORD_TTL_MS,
  type NameRecord,
  NameRegistration,
  NameResolver
} from './names/index.ts'
import { createAgentNode, PeerDialer, type RelayKeeper } from './net/index.ts'
import {
  CapabilityPresenter,
  denyAll,
  presentedProofs,
  ucanAuthorizer
} from './policy/index.ts'
import {
  answerCard,
  commandOf,
  buildCard,
  CARD_PROTOCOL,
  callOnConnection,
  DEFAULT_CALL_TIMEOUT_MS,
  defineIntent,
  fetchCard,
  type IntentContract,
  type IntentHandler,
  IntentServer,
  isThenable,
  type MaybePromise,
  toCallStream
} from './rpc/index.ts'
import { callsInFlightOn, countedOn } from './rpc/client.ts'
import type {
  Agent,
  AgentCallContext,
  AgentCallOptions,
  AgentHandler,
  AgentOptions
} from './agent-types.ts'

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
 * import { createAgent, createRelay, grantName } from 'agentmesh'
 * import { generateSigner } from 'agentmesh/identity'
 * import { delegate } from 'agentmesh/ucan'
 *
 * // the organisation's key, the agent's and the caller's; acme grants a name and a capability
 * const acme = generateSigner()
 * const agentKey = generateSigner()
 * const callerKey = generateSigner()
 * const expiration = Math.floor(Date.now() / 1000) + 3600
 * const nameRight = await grantName({ issuer: acme, audience: agentKey.did, name: 'acme/prod/demo', expiration })
 * const mayGreet = await delegate({ issuer: acme, audience: callerKey.did, subject: acme.did, command: '/greet', expiration })
 * const trust = { acme: acme.did }
 * const relay = await createRelay({ listen: ['/ip4/127.0.0.1/tcp/0/ws'], trust })
 *
 * // an edge agent: its name, the right to it, and the authority whose delegations it accepts
 * const agent = await createAgent({ name: 'acme/prod/demo', relays: relay.addrs, identity: agentKey, proofs: [nameRight], trust })
 * agent.handle('/greet', (args: { who: string }) => `hello ${args.who}`)
 *
 * // an orchestrator: no name; its capability, and whom it trusts to vouch for names
 * const caller = await createAgent({ relays: relay.addrs, identity: callerKey, proofs: [mayGreet], trust })
 * console.log(await caller.call('acme/prod/demo', '/greet', { who: 'world' }, { timeout: 5_000 })) // hello world
 *
 * await Promise.all([caller.stop(), agent.stop()])
 * await relay.stop()
 * ```
 */
export async function createAgent(options: AgentOptions): Promise<Agent> {
  if (options.name !== undefined) assertName(options.name)
  const relays = checkRelays(options.relays)
  const name = options.name
  const signer = toSigner(options.identity)
  const presenter = new CapabilityPresenter(signer, options.proofs ?? [])
  // the keeper calls back after each new reservation (restart, failover): publish the new addresses
  const hook: { onReservation: () => Promise<void>; callsOn: (connection: Connection) => number } = {
    onReservation: async () => {},
    callsOn: () => 0
  }
  const node = await createAgentNode({
    relays: name === undefined ? [] : relays,
    privateKey: signer.toPrivateKey(),
    keeper: { ...options.keeper, onReservation: () => hook.onReservation() },
    callsOn: (connection) => hook.callsOn(connection),
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
  // a relayed connection DCUtR replaced closes once the calls on it, served and made, are over
  hook.callsOn = (connection) => server.callsOn(connection) + callsInFlightOn(connection)
  const dial = (addr: string, opts?: { signal?: AbortSignal }): Promise<Connection> => node.dial(multiaddr(addr), opts)
  const resolver = new NameResolver(
    { dial, log: node.logger.forComponent('agentmesh:resolver') },
    { relays, trust: options.trust ?? {}, ...(options.revoked === undefined ? {} : { revoked: options.revoked }) }
  )
  const peers = new PeerDialer(node)
  const circuitAddrs = (): string[] =>
    node
      .getMultiaddrs()
      .map((ma) => ma.toString())
      .filter((a) => a.includes('/p2p-circuit/'))
  // an agent with a name must hold the right to it before it asks any relay for anything
  const registration =
    name === undefined
      ? undefined
      : await NameRegistration.create(
          { dial, addrs: circuitAddrs, log },
          {
            signer,
            name,
            relays,
            ttl: options.recordTtl ?? DEFAULT_RECORD_TTL_MS,
            proofs: () => presenter.delegations()
          }
        ).catch(async (err: unknown) => {
          await node.stop()
          throw err
        })
  const register = async (): Promise<void> => {
    await registration?.register()
  }

  // the did:key of each record's peer, derived once (parsing a PeerId and encoding a did:key per call showed in profiles)
  const audiences = new WeakMap<NameRecord, string>()
  const audienceOf = (record: NameRecord): string => {
    let did = audiences.get(record)
    if (did === undefined) {
      did = didFromPeerId(record.peer)
      audiences.set(record, did)
    }
    return did
  }

  /** The cached record of `target` and the connection in use to it, when both are at hand. */
  const reachable = (target: string): { record: NameRecord; connection: Connection } | undefined => {
    const record = resolver.cached(target)
    const connection = record === undefined ? undefined : peers.openTo(record.peer)
    return record === undefined || connection === undefined ? undefined : { record, connection }
  }

  /** The verified record of `target` and an open connection to it through one of its addresses. */
  const reach = async (target: string, signal: AbortSignal): Promise<{ record: NameRecord; connection: Connection }> => {
    const record = await resolver.resolve(target, { signal })
    const addrs = record.addrs.filter((a) => a.endsWith(`/p2p/${record.peer}`))
    if (addrs.length === 0) throw new MeshError('NOT_FOUND', `the record of ${target} has no usable address`)
    try {
      return { record, connection: await peers.connect(record.peer, addrs, signal) }
    } catch (err) {
      resolver.invalidate(target)
      throw new MeshError('UNAVAILABLE', `cannot reach ${target}: ${(err as Error).message}`, { cause: err })
    }
  }

  /** Resolve `target`, dial it through a relay, and run one call with the right capability. */
  const callByName = async (
    target: string,
    contract: IntentContract | string,
    args: unknown,
    callOptions: AgentCallOptions,
    onProgress?: (data: unknown) => void
  ): Promise<unknown> => {
    const timeout = callOptions.timeout ?? DEFAULT_CALL_TIMEOUT_MS
    const deadline = Date.now() + timeout
    // resolving and dialing need a deadline of their own; a call on a connection already open does not
    let signal: AbortSignal | undefined
    const deadlineSignal = (): AbortSignal => {
      signal = AbortSignal.timeout(timeout)
      if (callOptions.signal !== undefined) signal = AbortSignal.any([signal, callOptions.signal])
      return signal
    }
    try {
      const intent = commandOf(contract)
      const { record, connection } = reachable(target) ?? (await reach(target, deadlineSignal()))
      const once = (): MaybePromise<unknown> => {
        const auth = presenter.authFor(connection, intent, args, {
          audience: audienceOf(record),
          ...(callOptions.signed === undefined ? {} : { signed: callOptions.signed }),
          ...(callOptions.proofs === undefined ? {} : { extra: callOptions.proofs })
        })
        const run = (presented: unknown): Promise<unknown> =>
          callOnConnection(connection, intent, args, {
            ...callOptions,
            timeout: Math.max(0, deadline - Date.now()),
            ...(presented === undefined ? {} : { auth: presented }),
            ...(onProgress === undefined ? {} : { onProgress })
          })
        // a call waiting for its capability (a signature) already counts as a call on the connection
        return isThenable(auth) ? countedOn(connection, Promise.resolve(auth).then(run)) : run(auth)
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
      if (signal?.aborted === true && !MeshError.is(err, 'DEADLINE_EXCEEDED')) {
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
        // the context is the server's own object (its signal is made on first use): add to it, do not copy it
        const agentCtx = ctx as AgentCallContext
        agentCtx.call = ((target: string, i: IntentContract | string, a?: unknown, o: AgentCallOptions = {}) => {
          // the delegations the caller handed over on its connection travel on with this call
          const handedOver = ctx.grant.details?.connection as Connection | undefined
          const onward = handedOver === undefined ? [] : presentedProofs(handedOver)
          return agent.call(target, i as string, a, { ...o, proofs: [...onward, ...(o.proofs ?? [])] })
        }) as Agent['call']
        return handler(args as never, agentCtx as AgentCallContext<never>)
      }
      server.handle(contract, wrapped)
      return agent
    },
    call(target: string, intent: IntentContract | string, args: unknown = null, callOptions: AgentCallOptions = {}) {
      return callByName(target, intent, args, callOptions) as never
    },
    stream(target: string, intent: IntentContract | string, args: unknown = null, callOptions: AgentCallOptions = {}) {
      return toCallStream((onProgress) => callByName(target, intent, args, callOptions, onProgress))
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
      const { connection } = await reach(target, signal)
      return await fetchCard(connection, { signal })
    },
    addProofs(proofs) {
      presenter.add(proofs)
    },
    async stop() {
      registration?.stop()
      await server.stop()
      await node.stop()
    }
  }

  await server.start()
  await node.handle(
    ADMISSION_PROTOCOL,
    (stream) => {
      if (registration === undefined) stream.abort(new MeshError('PERMISSION_DENIED', 'this peer holds no name'))
      else registration.answerAdmission(stream)
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
  registration?.start()
  return agent
}

import { multiaddr } from '@multiformats/multiaddr'
import { MeshError } from './errors.ts'
import { assertName, DEFAULT_RECORD_TTL_MS, NameResolver, registerName } from './names/index.ts'
import { createAgentNode } from './net/index.ts'
import {
  type CallOptions,
  callOnConnection,
  DEFAULT_CALL_TIMEOUT_MS,
  type IntentHandler,
  IntentServer
} from './rpc/index.ts'
import type { Connection, PrivateKey } from '@libp2p/interface'
import type { Libp2p, Libp2pOptions } from 'libp2p'

/** Options of {@link createAgent}. */
export interface AgentOptions {
  /**
   * The agent's name (`org/…/agent`). An edge agent has one and registers it on its relays; an
   * orchestrator that only calls may leave it out.
   */
  name?: string
  /** Relay multiaddrs, each ending in `/p2p/<relay-id>`. The agent dials out to them only. */
  relays: string[]
  /** The agent's identity; a fresh Ed25519 key when omitted. */
  privateKey?: PrivateKey
  /**
   * How long a name registration lasts before the agent renews it, in ms.
   *
   * @default DEFAULT_RECORD_TTL_MS
   */
  recordTtl?: number
  /** Extra libp2p options (transports, connection manager…) merged over the defaults. */
  libp2p?: Partial<Libp2pOptions>
}

/** A running agent: serves intents under its name and calls other agents by name. */
export interface Agent {
  /** The agent's PeerId. */
  readonly peerId: string
  /** The agent's name, if it has one. */
  readonly name: string | undefined
  /** The circuit addresses at which the agent is reachable through its relays. */
  readonly addrs: string[]
  /** The underlying libp2p node, for advanced use. */
  readonly node: Libp2p
  /** Serve `intent` with `handler`; replaces an earlier handler of the same intent. */
  handle<Args = unknown, Result = unknown>(intent: string, handler: IntentHandler<Args, Result>): Agent
  /**
   * Call `intent` on the agent named `name`, through its relays.
   *
   * @throws {MeshError} `NOT_FOUND` (unknown name), `UNIMPLEMENTED` (unknown intent),
   * `DEADLINE_EXCEEDED`, `CANCELLED`, `UNAVAILABLE`, or the handler's own code
   */
  call<Result = unknown>(name: string, intent: string, args?: unknown, options?: CallOptions): Promise<Result>
  /** Stop serving (in-flight calls fail with `UNAVAILABLE`) and close every connection. */
  stop(): Promise<void>
}

/**
 * Start an agent: an edge agent when given a `name` (it reserves a circuit slot on each relay and
 * registers its name there), an orchestrator when not. Either way it only dials out.
 *
 * @example
 * ```ts
 * import { createAgent } from 'agentmesh'
 *
 * const agent = await createAgent({ name: 'acme/prod/demo', relays: [relayAddr] })
 * agent.handle('/echo', (args) => args)
 *
 * const caller = await createAgent({ relays: [relayAddr] })
 * const result = await caller.call('acme/prod/demo', '/echo', { hello: 'world' }, { timeout: 5_000 })
 * ```
 */
export async function createAgent(options: AgentOptions): Promise<Agent> {
  if (options.name !== undefined) assertName(options.name)
  if (options.relays.length === 0)
    throw new MeshError('INVALID_ARGUMENT', 'an agent needs at least one relay')
  const relays = options.relays.map((addr) => {
    const ma = multiaddr(addr)
    if (ma.getComponents().findLast((c) => c.name === 'p2p') === undefined) {
      throw new MeshError('INVALID_ARGUMENT', `relay address ${addr} must end in /p2p/<relay-id>`)
    }
    return ma.toString()
  })
  const name = options.name
  const node = await createAgentNode({
    relays: name === undefined ? [] : relays,
    ...(options.privateKey === undefined ? {} : { privateKey: options.privateKey }),
    ...(options.libp2p === undefined ? {} : { libp2p: options.libp2p })
  })
  const server = new IntentServer({ registrar: node, logger: node.logger })
  await server.start()
  const dial = (addr: string, opts?: { signal?: AbortSignal }): Promise<Connection> =>
    node.dial(multiaddr(addr), opts)
  const resolver = new NameResolver({ dial }, { relays })
  const ttl = options.recordTtl ?? DEFAULT_RECORD_TTL_MS
  const circuitAddrs = (): string[] =>
    node
      .getMultiaddrs()
      .map((ma) => ma.toString())
      .filter((a) => a.includes('/p2p-circuit/'))
  let renewTimer: ReturnType<typeof setTimeout> | undefined

  const register = async (): Promise<void> => {
    if (name === undefined) return
    const addrs = circuitAddrs()
    if (addrs.length === 0) throw new MeshError('UNAVAILABLE', 'no relay granted a reservation')
    const results = await Promise.allSettled(
      relays.map(async (relay) => registerName(await dial(relay), name, addrs, ttl))
    )
    const ok = results.filter((r) => r.status === 'fulfilled').length
    if (ok === 0) {
      const first = results.find((r) => r.status === 'rejected')
      throw MeshError.from(first?.reason, 'UNAVAILABLE')
    }
  }
  const scheduleRenewal = (): void => {
    renewTimer = setTimeout(() => {
      register()
        .catch((err: unknown) => node.logger.forComponent('agentmesh:agent')('renewal failed - %e', err))
        .finally(scheduleRenewal)
    }, ttl / 2)
    renewTimer.unref?.()
  }

  try {
    await register()
  } catch (err) {
    await server.stop()
    await node.stop()
    throw err
  }
  if (name !== undefined) scheduleRenewal()

  const agent: Agent = {
    peerId: node.peerId.toString(),
    name,
    get addrs() {
      return circuitAddrs()
    },
    node,
    handle(intent, handler) {
      server.handle(intent, handler as IntentHandler)
      return agent
    },
    async call<Result>(target: string, intent: string, args: unknown = null, callOptions: CallOptions = {}) {
      const timeout = callOptions.timeout ?? DEFAULT_CALL_TIMEOUT_MS
      const deadline = Date.now() + timeout
      const signal = AbortSignal.any([
        AbortSignal.timeout(timeout),
        ...(callOptions.signal === undefined ? [] : [callOptions.signal])
      ])
      try {
        const record = await resolver.resolve(target, { signal })
        const addrs = record.addrs.filter((a) => a.endsWith(`/p2p/${record.peer}`))
        if (addrs.length === 0)
          throw new MeshError('NOT_FOUND', `the record of ${target} has no usable address`)
        let connection: Connection
        try {
          connection = await node.dial(
            addrs.map((a) => multiaddr(a)),
            { signal }
          )
        } catch (err) {
          resolver.invalidate(target)
          throw new MeshError('UNAVAILABLE', `cannot reach ${target}: ${(err as Error).message}`, {
            cause: err
          })
        }
        return (await callOnConnection(connection, intent, args, {
          ...callOptions,
          timeout: Math.max(0, deadline - Date.now())
        })) as Result
      } catch (err) {
        if (callOptions.signal?.aborted === true)
          throw new MeshError('CANCELLED', 'the call was cancelled by the caller')
        if (signal.aborted && !MeshError.is(err, 'DEADLINE_EXCEEDED')) {
          throw new MeshError('DEADLINE_EXCEEDED', `no result within ${timeout} ms`)
        }
        throw MeshError.from(err, 'UNAVAILABLE')
      }
    },
    async stop() {
      clearTimeout(renewTimer)
      await server.stop()
      await node.stop()
    }
  }
  return agent
}

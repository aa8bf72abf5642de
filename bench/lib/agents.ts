// Starting an agent party on a relay party, and the target its callers need.
import type { BenchAuthority } from './authority.ts'
import { type PartyHandle, startParty } from './proc.ts'

/** Which delegations the caller presents: none (agent uses allowAuthenticatedPeers), 1 link, 3 links. */
export type Auth = 'open' | 'ucan' | 'chain3'

export interface AgentSpec {
  authority: BenchAuthority
  relay: PartyHandle
  mode: 'ws' | 'tcp' | 'direct'
  name: string
  /** How callers present authority; `open` also makes the agent allow any authenticated peer. */
  auth?: Auth
  verbose?: boolean
  nodeFlags?: string[]
  /** Run the agent inside this network namespace (with its relay). */
  netns?: string
}

export interface StartedAgent {
  party: PartyHandle
  /** What a caller party's `connect` needs (relay, name, keys, proofs). */
  target: Record<string, unknown>
  /** The target of another caller of this same agent presenting `auth` (not `open`). */
  targetFor(auth: Exclude<Auth, 'open'>, extra?: Record<string, unknown>): Record<string, unknown>
  stop(): Promise<void>
}

/**
 * Start a named agent (its own key and naming right from the bench authority) reserved on `relay`,
 * over WebSockets or TCP; `direct` also listens on loopback TCP and the caller dials that first.
 */
export async function startAgent(spec: AgentSpec): Promise<StartedAgent> {
  const { authority, relay, mode, name } = spec
  const auth = spec.auth ?? 'ucan'
  const relayAddr = String(mode === 'ws' ? relay.info.ws : relay.info.tcp)
  const identity = await authority.agent(name)
  const party = await startParty(
    `agent-${mode}-${name.split('/').at(-1)}`,
    'agent.ts',
    [
      mode,
      name,
      relayAddr,
      authority.did,
      identity.keyFile,
      identity.proofFile,
      auth === 'open' ? 'open' : 'ucan'
    ],
    {
      verbose: spec.verbose ?? false,
      nodeFlags: spec.nodeFlags ?? [],
      ...(spec.netns === undefined ? {} : { netns: spec.netns })
    }
  )
  const peerId = String(party.info.peerId)
  const direct = (party.info.direct as string[] | undefined)?.find((a) => a.includes('/tcp/'))
  const base = {
    relay: relayAddr,
    name,
    authority: authority.did,
    peerId,
    ...(mode === 'direct'
      ? { direct: direct?.includes('/p2p/') === true ? direct : `${direct}/p2p/${peerId}` }
      : {})
  }
  const targetFor = (a: Auth, extra: Record<string, unknown> = {}): Record<string, unknown> => {
    const caller = a === 'chain3' ? authority.callerChain3 : authority.caller
    // the "no UCAN" caller holds no delegation: its calls carry no chain at all
    return { ...base, keyFile: caller.keyFile, ...(a === 'open' ? {} : { proofFile: caller.proofFile }), ...extra }
  }
  return {
    party,
    target: targetFor(auth),
    targetFor,
    stop: () => party.stop()
  }
}

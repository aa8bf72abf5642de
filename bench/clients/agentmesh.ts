// agentmesh callers: relayed (the relay address given is WebSockets or TCP) or direct (the caller
// dials the agent's own TCP address first; libp2p then prefers that direct connection when the call
// dials the agent's circuit address, so the call by name goes direct without any API change).
import { multiaddr } from '@multiformats/multiaddr'
import { type Agent, createAgent, loadTokens } from 'agentmesh'
import { loadKey } from 'agentmesh/identity'
import { SMALL_OBJECT } from '../lib/wire.ts'
import { type BenchClient, type ColdSample, field, type SystemDriver } from './types.ts'

const TIMEOUT = { timeout: 60_000 }

/**
 * A caller trusting the bench authority (to resolve names) and holding the delegations of the proof
 * file, if the target names one (none for the "no UCAN" row: its calls carry no chain at all).
 */
export async function connectCaller(target: Record<string, unknown>): Promise<Agent> {
  const proofFile = target.proofFile
  const caller = await createAgent({
    relays: [field(target, 'relay')],
    identity: await loadKey(field(target, 'keyFile')),
    proofs: typeof proofFile === 'string' ? await loadTokens(proofFile) : [],
    trust: { acme: field(target, 'authority') }
  })
  const direct = target.direct
  if (typeof direct === 'string') await caller.node.dial(multiaddr(direct))
  return caller
}

async function echoOnce(caller: Agent, name: string, signed = false): Promise<void> {
  const options = signed ? { ...TIMEOUT, signed } : TIMEOUT
  const result = await caller.call<{ text: string }>(name, '/bench/echo', SMALL_OBJECT, options)
  if (result.text.length !== SMALL_OBJECT.text.length) throw new Error('echo returned something else')
}

/** The connections from `caller` to `peer`, described. */
export function describePath(caller: Agent, peer: string): string {
  return caller.node
    .getConnections()
    .filter((c) => c.remotePeer.toString() === peer)
    .map((c) => {
      const addr = c.remoteAddr.toString()
      const hop = addr.split('/p2p/')[0]
      return addr.includes('/p2p-circuit') ? `relayed through ${hop}` : `direct to ${hop}`
    })
    .join(', ')
}

export const driver: SystemDriver = {
  async connect(target) {
    const name = field(target, 'name')
    const peer = field(target, 'peerId')
    const caller = await connectCaller(target)
    // `signed`: each call carries a fully signed UCAN invocation instead of a chain reference
    const signed = target.signed === true
    const client: BenchClient = {
      echo: () => echoOnce(caller, name, signed),
      async blob(size) {
        const result = await caller.call<Uint8Array>(name, '/bench/blob', { size }, TIMEOUT)
        return result.byteLength
      },
      path: () => describePath(caller, peer),
      close: () => caller.stop()
    }
    return client
  },
  async cold(target): Promise<ColdSample> {
    const name = field(target, 'name')
    const t0 = performance.now()
    const caller = await connectCaller(target)
    const t1 = performance.now()
    try {
      await echoOnce(caller, name)
      const t2 = performance.now()
      return { totalMs: t2 - t0, firstMs: t2 - t1 }
    } finally {
      await caller.stop()
    }
  }
}

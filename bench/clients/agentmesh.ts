// agentmesh callers: relayed (the relay address given is WebSockets or TCP), direct (the caller
// dials the agent's own TCP address first; libp2p then prefers that direct connection when the call
// dials the agent's circuit address, so the call by name goes direct without any API change), or
// upgraded (the caller listens on and announces a public address; its first call goes through the
// relay, the agent's DCUtR dials it back, and the calls after it take the direct connection).
import { multiaddr } from '@multiformats/multiaddr'
import { type Agent, createAgent, loadTokens } from 'agentmesh'
import { loadKey } from 'agentmesh/identity'
import { SMALL_OBJECT } from '../lib/wire.ts'
import { type BenchClient, type ColdSample, field, type SystemDriver } from './types.ts'

const TIMEOUT = { timeout: 60_000 }
/** How long an upgraded caller waits for DCUtR to replace the relayed connection. */
const UPGRADE_WAIT_MS = 15_000

/**
 * A caller trusting the bench authority (to resolve names) and holding the delegations of the proof
 * file, if the target names one (none for the "no UCAN" row: its calls carry no chain at all).
 */
export async function connectCaller(target: Record<string, unknown>): Promise<Agent> {
  const proofFile = target.proofFile
  const announce = target.announce
  const caller = await createAgent({
    relays: [field(target, 'relay')],
    identity: await loadKey(field(target, 'keyFile')),
    proofs: typeof proofFile === 'string' ? await loadTokens(proofFile) : [],
    trust: { acme: field(target, 'authority') },
    ...(typeof announce === 'string' ? { libp2p: { addresses: { listen: [announce], appendAnnounce: [announce] } } } : {})
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

/**
 * Make the first call (through the relay), then wait until the connection to `peer` is direct and
 * the relayed one has closed: DCUtR on the agent, which took the relayed connection in, dials the
 * caller's announced address (once identify has run, 100 ms after the connection opened), and the
 * relayed connection closes once no call has used it for a moment. Describes both times, in ms
 * from the first result.
 */
async function awaitUpgrade(caller: Agent, name: string, peer: string): Promise<string> {
  const isRelayed = (addr: string): boolean => addr.includes('/p2p-circuit')
  const toPeer = () => caller.node.getConnections().filter((c) => c.remotePeer.toString() === peer)
  const direct = (): boolean => toPeer().some((c) => !isRelayed(c.remoteAddr.toString()))
  const relayed = (): boolean => toPeer().some((c) => isRelayed(c.remoteAddr.toString()))
  let directBefore = false
  const watch = (): void => {
    directBefore ||= direct()
  }
  caller.node.addEventListener('connection:open', watch)
  try {
    await echoOnce(caller, name)
  } finally {
    caller.node.removeEventListener('connection:open', watch)
  }
  if (directBefore || direct()) return 'upgraded by DCUtR before the first result'
  if (!relayed()) throw new Error(`the first call went neither direct nor through the relay: ${describePath(caller, peer)}`)
  const t0 = performance.now()
  let directAfter: number | undefined
  for (;;) {
    const now = performance.now() - t0
    if (directAfter === undefined && direct()) directAfter = now
    if (directAfter !== undefined && !relayed()) {
      return `upgraded by DCUtR ${directAfter.toFixed(0)} ms after the first relayed result, relayed connection closed after ${now.toFixed(0)} ms`
    }
    if (now > UPGRADE_WAIT_MS) {
      throw new Error(`DCUtR did not upgrade within ${UPGRADE_WAIT_MS} ms: ${describePath(caller, peer)}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
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
    const upgrade = typeof target.announce === 'string' ? await awaitUpgrade(caller, name, peer) : undefined
    // `signed`: each call carries a fully signed UCAN invocation instead of a chain reference
    const signed = target.signed === true
    const client: BenchClient = {
      echo: () => echoOnce(caller, name, signed),
      async blob(size) {
        const result = await caller.call<Uint8Array>(name, '/bench/blob', { size }, TIMEOUT)
        return result.byteLength
      },
      path: () => (upgrade === undefined ? describePath(caller, peer) : `${describePath(caller, peer)} (${upgrade})`),
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

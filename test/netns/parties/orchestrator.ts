// An orchestrator behind NAT: `orchestrator.ts --relays <a,b> --trust <authority did> [--dcutr <module>|builtin] [--listen <ma>] [--announce <ma>]`.
// Answers `{"id":1,"call":{"name","intent","args","timeout"}}` and `{"id":2,"connections":true}` lines.
import { createAgent } from 'agentmesh'
import { emit, flags, required, serveLines, stopOn } from './lines.ts'
import { describeUpgrade, directUpgrade } from './upgrade.ts'

const args = flags()
const relays = required(args, 'relays').split(',')
const upgrade = await directUpgrade(args)
// names resolve only when their naming right roots in a trusted authority
const agent = await createAgent({
  relays,
  trust: { acme: required(args, 'trust') },
  libp2p: { addresses: upgrade.addresses, services: upgrade.services }
})
const dcutr = describeUpgrade(agent.node, upgrade)
if (dcutr !== undefined) emit({ dcutr })

serveLines(async (request) => {
  if (request.call !== undefined) {
    const call = request.call as { name: string; intent: string; args?: unknown; timeout?: number }
    const started = Date.now()
    try {
      const ok = await agent.call(call.name, call.intent, call.args ?? null, { timeout: call.timeout ?? 5_000 })
      return { ok, ms: Date.now() - started }
    } catch (err) {
      const e = err as Error & { code?: string }
      return { error: { code: e.code ?? 'INTERNAL', message: e.message }, ms: Date.now() - started }
    }
  }
  if (request.connections !== undefined) {
    return {
      connections: agent.node.getConnections().map((c) => ({
        peer: c.remotePeer.toString(),
        addr: c.remoteAddr.toString(),
        direct: !c.remoteAddr.toString().includes('/p2p-circuit'),
        limited: c.limits !== undefined
      }))
    }
  }
  throw new Error('unknown request')
})
emit({ ready: { peerId: agent.peerId, addrs: agent.node.getMultiaddrs().map(String) } })
stopOn(async () => agent.stop())

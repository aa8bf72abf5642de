// The agent party: an edge agent named argv[1], holding a reservation on the relay at argv[2] (its
// relay keeper reserves the slot; the relay admits it for its naming right), serving `/bench/echo`
// (returns its args) and `/bench/blob` (returns `size` bytes), plus the raw libp2p protocol
// `/bench/echo/1` on its node (the floor on the same relayed path). Its key and naming right are the
// files argv[4] and argv[5]. It trusts the authority whose did is argv[3] (deny by default, as in
// production), or, with argv[6] = `open`, lets any authenticated peer call (allowAuthenticatedPeers,
// to isolate the cost of UCAN). With argv[0] = `direct` it also listens on loopback TCP so that a
// caller can dial it without the relay.
import { allowAuthenticatedPeers, createAgent, loadTokens } from 'agentmesh'
import { loadKey } from 'agentmesh/identity'
import { arg, serveParty } from '../lib/party.ts'
import { answer, blob, FrameReader, RAW_PROTOCOL } from '../lib/wire.ts'
import type { Stream } from '@libp2p/interface'

/** Serve the raw protocol on one stream: answer each request in order until the caller closes. */
async function serveRaw(stream: Stream): Promise<void> {
  const reader = new FrameReader()
  try {
    for await (const chunk of stream) {
      reader.push(chunk)
      for (let body = reader.next(); body !== undefined; body = reader.next()) {
        for (const part of answer(body)) {
          if (!stream.send(part)) await stream.onDrain()
        }
      }
    }
    await stream.close()
  } catch (err) {
    stream.abort(err as Error)
  }
}

await serveParty(async () => {
  const mode = arg(0)
  const name = arg(1)
  const relay = arg(2)
  const authority = arg(3)
  const open = arg(6, 'ucan') === 'open'
  const agent = await createAgent({
    name,
    relays: [relay],
    identity: await loadKey(arg(4)),
    proofs: await loadTokens(arg(5)),
    trust: { acme: authority },
    ...(open ? { authorizer: allowAuthenticatedPeers() } : {}),
    // direct listen addresses only: the relay keeper reserves the circuit slot itself
    ...(mode === 'direct' ? { libp2p: { addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] } } } : {})
  })
  agent.handle('/bench/echo', (args) => args)
  agent.handle('/bench/blob', (args: { size: number }) => blob(args.size))
  await agent.node.handle(RAW_PROTOCOL, (stream) => void serveRaw(stream), {
    runOnLimitedConnection: true,
    maxInboundStreams: 4096,
    maxOutboundStreams: 4096
  })
  const direct = agent.node
    .getMultiaddrs()
    .map((ma) => ma.toString())
    .filter((a) => !a.includes('/p2p-circuit'))
  return {
    info: { peerId: agent.peerId, name, addrs: agent.addrs, direct },
    party: {
      ops: {
        stats: () => ({ rss: process.memoryUsage().rss, cpu: process.cpuUsage() })
      },
      stop: () => agent.stop()
    }
  }
})

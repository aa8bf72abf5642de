import assert from 'node:assert/strict'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { createAgent, createRelay, grantName } from '../../src/index.ts'
import { generateSigner } from '../../src/identity/index.ts'
import { delegate } from '../../src/ucan/index.ts'

describe('transports are the user choice', () => {
  it('runs relay, agent and caller with only the transports given (TCP here), calling by name through the relay', async () => {
    const acme = generateSigner()
    const agentKey = generateSigner()
    const callerKey = generateSigner()
    const expiration = Math.floor(Date.now() / 1000) + 600
    const trust = { acme: acme.did }
    const relay = await createRelay({ trust, transports: [tcp()], listen: ['/ip4/127.0.0.1/tcp/0'] })
    const relays = relay.addrs
    assert.ok(relays.every((a) => !a.includes('/ws')), 'the relay listens on TCP only')
    const only = { libp2p: { transports: [tcp()] } }
    const agent = await createAgent({
      name: 'acme/test/tcp-only',
      relays,
      identity: agentKey,
      proofs: [await grantName({ issuer: acme, audience: agentKey.did, name: 'acme/test/tcp-only', expiration })],
      trust,
      ...only
    })
    agent.handle('/ping', () => 'pong over tcp')
    const caller = await createAgent({
      relays,
      identity: callerKey,
      proofs: [await delegate({ issuer: acme, audience: callerKey.did, subject: acme.did, command: '/ping', expiration })],
      trust,
      ...only
    })
    try {
      assert.equal(await caller.call('acme/test/tcp-only', '/ping'), 'pong over tcp')
      const conn = caller.node.getConnections(agent.node.peerId)[0]
      assert.match(conn?.remoteAddr.toString() ?? '', /\/tcp\/\d+\/p2p\/.*\/p2p-circuit\//)
      // WebSockets was replaced, not added to: a WebSockets-only relay cannot be reached
      const wsRelay = await createRelay({ trust, transports: [webSockets()], listen: ['/ip4/127.0.0.1/tcp/0/ws'] })
      try {
        await assert.rejects(caller.node.dial(multiaddr(wsRelay.addrs[0]!)))
      } finally {
        await wsRelay.stop()
      }
    } finally {
      await caller.stop()
      await agent.stop()
      await relay.stop()
    }
  })
})

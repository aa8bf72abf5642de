import assert from 'node:assert/strict'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p } from 'libp2p'
import { deferredIdentify } from '../../src/net/index.ts'
import { waitFor } from '../fixtures/wait.ts'

async function startNode(listen: string[]): Promise<Libp2p> {
  return await createLibp2p({
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: deferredIdentify(300) }
  })
}

describe('deferred identify (real libp2p nodes over TCP)', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
  })

  it('keeps identify off a new connection at first, then learns the peer\'s protocols', async () => {
    const listener = await startNode(['/ip4/127.0.0.1/tcp/0'])
    const dialer = await startNode([])
    nodes.push(listener, dialer)
    await listener.handle('/test/echo/1', () => {})
    const connection = await dialer.dial(listener.getMultiaddrs())
    const protocols = async (): Promise<string[]> => (await dialer.peerStore.get(listener.peerId)).protocols
    assert.deepEqual(await protocols(), [], 'nothing identified while the first streams are opened')
    assert.equal(connection.streams.length, 0, 'no identify stream on the fresh connection')
    let learnt: string[] = []
    const ms = await waitFor('identify to run', () => {
      void protocols().then((p) => (learnt = p))
      return learnt.includes('/test/echo/1')
    })
    assert.ok(ms >= 200, `identify waited for its delay (ran after ${ms} ms)`)
  })
})

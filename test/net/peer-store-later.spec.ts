import assert from 'node:assert/strict'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p } from 'libp2p'
import { recordPeersLater } from '../../src/net/index.ts'
import { waitFor } from '../fixtures/wait.ts'

async function startNode(listen: string[]): Promise<Libp2p> {
  const node = await createLibp2p({
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({ enableKeepAlive: false })]
  })
  assert.equal(recordPeersLater(node), true)
  return node
}

describe('peer-store bookkeeping after the work (real libp2p nodes over TCP)', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
  })

  it('hands an inbound stream to its handler before the protocol is recorded, and records it right after', async () => {
    const listener = await startNode(['/ip4/127.0.0.1/tcp/0'])
    const dialer = await startNode([])
    nodes.push(listener, dialer)
    let recordedAtHandler: boolean | undefined
    let handled = false
    await listener.handle('/test/late/1', async (stream) => {
      handled = true
      // the merge would have run before this; now it waits for the end of the turn
      // (the dialer is not in the store at all yet: nothing else recorded it)
      const peer = await listener.peerStore.get(dialer.peerId).catch(() => undefined)
      recordedAtHandler = peer?.protocols.includes('/test/late/1') ?? false
      stream.send(new Uint8Array([1]))
      await stream.close()
    })
    const stream = await dialer.dialProtocol(listener.getMultiaddrs(), '/test/late/1')
    await waitFor('the handler', () => handled && recordedAtHandler !== undefined)
    assert.equal(recordedAtHandler, false)
    let recorded = false
    await waitFor('the protocol in the listener\'s peer store', () => {
      void listener.peerStore.get(dialer.peerId).then((p) => (recorded = p.protocols.includes('/test/late/1')))
      return recorded
    })
    await stream.close().catch(() => {})
  })

  it('returns the connection of a dial before the dial is recorded, and records it just after', async () => {
    const listener = await startNode(['/ip4/127.0.0.1/tcp/0'])
    const dialer = await startNode([])
    nodes.push(listener, dialer)
    const connection = await dialer.dial(listener.getMultiaddrs())
    assert.equal(connection.status, 'open')
    // read in the same turn as the dial returned: libp2p merged before returning, the merge now waits
    const atReturn = await dialer.peerStore.get(listener.peerId).catch(() => undefined)
    assert.equal(atReturn?.metadata.has('last-dial-success') ?? false, false)
    let metadata: Map<string, Uint8Array> = new Map()
    await waitFor('the dial record', () => {
      void dialer.peerStore.get(listener.peerId).then((p) => (metadata = p.metadata)).catch(() => {})
      return metadata.has('last-dial-success')
    })
  })

  it('leaves node.peerStore as it is: a merge there is awaited and returns the peer', async () => {
    const node = await startNode([])
    const other = await startNode([])
    nodes.push(node, other)
    const peer = await node.peerStore.merge(other.peerId, { protocols: ['/test/direct/1'] })
    assert.deepEqual(peer.protocols, ['/test/direct/1'])
    assert.deepEqual((await node.peerStore.get(other.peerId)).protocols, ['/test/direct/1'])
  })
})

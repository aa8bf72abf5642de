import assert from 'node:assert/strict'
import { fixConnectionListing } from '../../src/net/index.ts'
import { startMesh } from '../fixtures/mesh.ts'

describe('connection listing (linear instead of libp2p 3.3 quadratic concat)', () => {
  it('lists every connection of a relay, and the connections of one peer, as libp2p would', async () => {
    const mesh = await startMesh({ name: 'acme/prod/listing' })
    const extra = await mesh.newAgent('acme/prod/listing-two')
    try {
      await mesh.caller.resolve('acme/prod/listing')
      const node = mesh.relay.node
      const all = node.getConnections()
      const byPeer = new Set(all.map((c) => c.remotePeer.toString()))
      assert.ok(byPeer.has(mesh.agent.peerId) && byPeer.has(extra.peerId) && byPeer.has(mesh.caller.peerId))
      assert.equal(all.length, 3)
      assert.deepEqual(
        node.getConnections(mesh.agent.node.peerId).map((c) => c.id),
        all.filter((c) => c.remotePeer.equals(mesh.agent.node.peerId)).map((c) => c.id)
      )
      assert.equal(fixConnectionListing(node), true, 'applying it again is harmless')
      assert.equal(node.getConnections().length, 3)
    } finally {
      await extra.stop()
      await mesh.stop()
    }
  })
})

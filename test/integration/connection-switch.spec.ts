import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { RPC_PROTOCOL } from '../../src/rpc/constants.ts'
import { type Mesh, startMesh } from '../fixtures/mesh.ts'

const NAME = 'acme/test/switch'
const relayed = (addr: string): boolean => addr.includes('/p2p-circuit')

describe('a direct connection opening to an agent reached through a relay (real nodes, real relay, loopback TCP)', () => {
  let mesh: Mesh

  before(async () => {
    // the agent also listens on loopback TCP, so that the caller can open a direct connection as
    // DCUtR would after an upgrade (DCUtR itself dials only public addresses: see test/netns)
    mesh = await startMesh({ name: NAME, agent: { libp2p: { addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] } } } })
    mesh.agent.handle('/echo', (args: unknown) => args)
    mesh.agent.handle('/slow', async (args: { ms: number }) => {
      await new Promise((resolve) => setTimeout(resolve, args.ms))
      return 'slow done'
    })
  })

  after(async () => {
    await mesh.stop()
  })

  // the close of the relayed connection after an upgrade, once its calls are over, is DCUtR's and
  // is tested where DCUtR can run: test/netns/nat-topology.spec.ts, both directions of the dial
  it('threat: calls keep using the relay once a direct connection is open — new calls take the direct connection, the call running on the relayed one is not disturbed', async () => {
    assert.equal(await mesh.caller.call(NAME, '/echo', 'first'), 'first')
    const toAgent = () => mesh.caller.node.getConnections().filter((c) => c.remotePeer.toString() === mesh.agent.peerId)
    assert.ok(toAgent().length === 1 && relayed(toAgent()[0]!.remoteAddr.toString()), 'the first call went through the relay')
    const slow = mesh.caller.call(NAME, '/slow', { ms: 800 })
    const listen = mesh.agent.node.getMultiaddrs().find((ma) => !relayed(ma.toString()) && ma.toString().includes('/tcp/'))
    assert.ok(listen !== undefined, 'the agent listens on loopback TCP')
    const direct = await mesh.caller.node.dial(multiaddr(listen.toString()))
    assert.ok(!relayed(direct.remoteAddr.toString()))
    const rpcStreams = (addr: (a: string) => boolean) =>
      toAgent()
        .filter((c) => addr(c.remoteAddr.toString()))
        .flatMap((c) => c.streams.filter((s) => s.protocol === RPC_PROTOCOL))
    const onRelayed = rpcStreams(relayed).length
    for (let i = 0; i < 5; i++) assert.equal(await mesh.caller.call(NAME, '/echo', i), i)
    assert.ok(rpcStreams((a) => !relayed(a)).length > 0, 'the calls after the direct connection opened went over it')
    assert.equal(rpcStreams(relayed).length, onRelayed, 'no new call stream on the relayed connection')
    assert.equal(await slow, 'slow done')
  })
})

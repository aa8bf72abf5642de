import assert from 'node:assert/strict'
import net from 'node:net'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { createAgentNode, encryptOutboundEarly } from '../../src/net/index.ts'

const start = async (listen: string[], encrypter = noise()): Promise<Libp2p> =>
  await createLibp2p({ addresses: { listen }, transports: [tcp()], connectionEncrypters: [encrypter], streamMuxers: [yamux()] })

/** noise under another protocol id: a peer that does not speak `/noise`. */
function renamedNoise(): ReturnType<typeof noise> {
  return (components) => {
    const inner = noise()(components)
    return Object.assign(Object.create(inner) as typeof inner, { protocol: '/not-noise' })
  }
}

/** The proposal of noise alone: varint(19) "/multistream/1.0.0\n" varint(7) "/noise\n". */
const PROPOSAL_BYTES = 28

describe('outbound encryption that sends its proposal with the first handshake message', () => {
  const nodes: Libp2p[] = []
  const servers: net.Server[] = []
  after(async () => {
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
    for (const s of servers.splice(0)) s.close()
  })

  /** A TCP listener that never answers: how many bytes a dialer sends it before any answer. */
  async function bytesBeforeAnswer(dialer: Libp2p): Promise<number> {
    let received = 0
    const server = net.createServer((socket) => {
      socket.on('error', () => {})
      socket.on('data', (chunk) => {
        received += chunk.byteLength
      })
    })
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as net.AddressInfo).port
    const someone = await start([])
    nodes.push(someone)
    const stop = new AbortController()
    const dial = dialer.dial(multiaddr(`/ip4/127.0.0.1/tcp/${port}/p2p/${someone.peerId.toString()}`), { signal: stop.signal })
    dial.catch(() => {})
    for (let i = 0; i < 200 && received === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    // whatever the dialer sends without an answer has left by now
    await new Promise((resolve) => setTimeout(resolve, 200))
    stop.abort()
    await dial.catch(() => {})
    return received
  }

  it('sends noise\'s first message with the proposal, before any answer; libp2p alone sends the proposal and waits', async () => {
    const plain = await start([])
    const early = await start([])
    nodes.push(plain, early)
    assert.equal(encryptOutboundEarly(early), true)
    assert.equal(await bytesBeforeAnswer(plain), PROPOSAL_BYTES)
    assert.ok((await bytesBeforeAnswer(early)) > PROPOSAL_BYTES, 'the first noise message went with the proposal')
  })

  it('is on in the nodes agents and orchestrators run', async () => {
    const node = await createAgentNode({ relays: [] })
    nodes.push(node)
    await node.start()
    assert.ok((await bytesBeforeAnswer(node)) > PROPOSAL_BYTES)
  })

  it('upgrades a connection to a libp2p listener, and the connection carries streams', async () => {
    const listener = await start(['/ip4/127.0.0.1/tcp/0'])
    const dialer = await start([])
    nodes.push(listener, dialer)
    assert.equal(encryptOutboundEarly(dialer), true)
    await listener.handle('/test/echo/1', (stream) => {
      stream.addEventListener('message', (evt) => stream.send(evt.data))
    })
    const connection = await dialer.dial(listener.getMultiaddrs())
    assert.equal(connection.encryption, '/noise')
    assert.equal(connection.remotePeer.toString(), listener.peerId.toString())
    const stream = await connection.newStream('/test/echo/1')
    const echoed = new Promise<number[]>((resolve) => stream.addEventListener('message', (evt) => resolve([...evt.data.subarray()]), { once: true }))
    stream.send(Uint8Array.from([7, 8, 9]))
    assert.deepEqual(await echoed, [7, 8, 9])
  })

  it('fails the dial when the listener does not speak noise, and the listener serves the next dialer', async () => {
    const listener = await start(['/ip4/127.0.0.1/tcp/0'], renamedNoise())
    const dialer = await start([])
    nodes.push(listener, dialer)
    encryptOutboundEarly(dialer)
    await assert.rejects(dialer.dial(listener.getMultiaddrs(), { signal: AbortSignal.timeout(10_000) }), (err: Error) => {
      return !/aborted|timeout/i.test(err.message)
    })
    const other = await start([], renamedNoise())
    nodes.push(other)
    const connection = await other.dial(listener.getMultiaddrs())
    assert.equal(connection.status, 'open')
  })

  it('fails the dial at once when the listener answers garbage (threat: a fake listener feeding the handshake its own bytes)', async () => {
    const server = net.createServer((socket) => {
      socket.on('error', () => {})
      socket.once('data', () => socket.write(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')))
    })
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as net.AddressInfo).port
    const listener = await start([])
    const dialer = await start([])
    nodes.push(listener, dialer)
    encryptOutboundEarly(dialer)
    const started = performance.now()
    await assert.rejects(
      dialer.dial(multiaddr(`/ip4/127.0.0.1/tcp/${port}/p2p/${listener.peerId.toString()}`), { signal: AbortSignal.timeout(10_000) }),
      (err: Error) => !/aborted|timeout/i.test(err.message)
    )
    assert.ok(performance.now() - started < 5_000, 'the dial failed on the answer, not on a timeout')
  })
})

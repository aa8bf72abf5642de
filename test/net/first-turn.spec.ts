import assert from 'node:assert/strict'
import net from 'node:net'
import type { Connection, Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p } from 'libp2p'
import {
  encryptOutboundEarly,
  FIRST_TURN_MAX_BYTES,
  gatherFirstTurnOfInboundStreams,
  joinTransportWrites,
  tunedNoise,
  tuneYamuxWindowUpdates,
  yamuxPingingLater
} from '../../src/net/index.ts'
import { waitFor } from '../fixtures/wait.ts'
import { ACK, DATA, FIN, muxerOf, recordFrames } from '../fixtures/yamux-frames.ts'

async function startNode(listen: string[]): Promise<Libp2p> {
  const node = await createLibp2p({
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [tunedNoise()],
    streamMuxers: [yamuxPingingLater()]
  })
  assert.equal(joinTransportWrites(node), true)
  return node
}

/**
 * Everything `stream` receives until its remote closes it, joined. Read from message events and the
 * stream's state, not with `for await`: libp2p's iterator never ends when the remote's end of stream
 * arrived while \`newStream\` was still negotiating (the answer, data and end in one read).
 */
async function readAll(stream: Stream): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  stream.addEventListener('message', (evt) => {
    const data = (evt as unknown as { data: Uint8Array | { subarray(): Uint8Array } }).data
    chunks.push(data instanceof Uint8Array ? data : data.subarray())
  })
  await waitFor('the remote to end the stream', () => stream.remoteWriteStatus === 'closed')
  return new Uint8Array(Buffer.concat(chunks))
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)

describe('first-turn writes of inbound streams and connections (real libp2p nodes over TCP)', () => {
  const nodes: Libp2p[] = []
  before(() => {
    assert.equal(tuneYamuxWindowUpdates(), true)
    assert.equal(gatherFirstTurnOfInboundStreams(), true)
  })
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
  })

  async function pair(): Promise<{ dialer: Libp2p; listener: Libp2p; out: Connection; inbound: Connection }> {
    const listener = await startNode(['/ip4/127.0.0.1/tcp/0'])
    const dialer = await startNode([])
    nodes.push(listener, dialer)
    const out = await dialer.dial(listener.getMultiaddrs())
    await waitFor('the listener to see the connection', () => listener.getConnections().length === 1)
    return { dialer, listener, out, inbound: listener.getConnections()[0]! }
  }

  it('sends the protocol answer and what the handler writes in the same turn as one frame, in order', async () => {
    const { listener, out, inbound } = await pair()
    await listener.handle('/test/two/1', (stream) => {
      stream.send(bytes('first,'))
      stream.send(bytes('second'))
      void stream.close()
    })
    const frames = recordFrames(muxerOf(inbound), true)
    const stream = await out.newStream('/test/two/1')
    assert.equal(new TextDecoder().decode(await readAll(stream)), 'first,second')
    const data = frames.filter((f) => f.streamID === Number(stream.id) && f.type === DATA)
    assert.equal(data.length, 1, `one data frame: the two multistream-select lines and both writes (${JSON.stringify(frames)})`)
    assert.equal(data[0]!.flag & ACK, ACK, 'and it carries the ACK')
    const fin = frames.find((f) => f.streamID === Number(stream.id) && (f.flag & FIN) !== 0)
    assert.ok(fin !== undefined && frames.indexOf(fin) > frames.indexOf(data[0]!), 'the end of stream comes after the data')
  })

  it('sends a write of a later turn at once, in a frame of its own', async () => {
    const { listener, out, inbound } = await pair()
    await listener.handle('/test/later/1', (stream) => {
      setTimeout(() => {
        stream.send(bytes('later'))
        void stream.close()
      }, 20)
    })
    const frames = recordFrames(muxerOf(inbound), true)
    const stream = await out.newStream('/test/later/1')
    assert.equal(new TextDecoder().decode(await readAll(stream)), 'later')
    const data = frames.filter((f) => f.streamID === Number(stream.id) && f.type === DATA)
    assert.equal(data.length, 2, 'the protocol answer, then the later write')
    assert.equal(data[1]!.length, 'later'.length)
  })

  it(`loses nothing and keeps order when the first turn writes more than ${FIRST_TURN_MAX_BYTES} bytes`, async () => {
    const { listener, out } = await pair()
    const parts = Array.from({ length: 5 }, (_, i) => new Uint8Array(FIRST_TURN_MAX_BYTES / 2).fill(i + 1))
    await listener.handle('/test/big/1', (stream) => {
      for (const part of parts) stream.send(part)
      void stream.close()
    })
    const stream = await out.newStream('/test/big/1')
    const got = await readAll(stream)
    assert.deepEqual(got, new Uint8Array(Buffer.concat(parts)))
  })

  it('a gathered write that the layer below refuses at the end of the turn fails the stream, not the process', async () => {
    const { listener, out } = await pair()
    let accepted: Stream | undefined
    await listener.handle('/test/refused/1', (stream) => {
      accepted = stream
      // the connection under the stream refuses every write from now on (as a closing one does)
      ;(stream as unknown as { sendData: () => never }).sendData = () => {
        throw new Error('the transport is closing')
      }
      stream.send(bytes('never sent'))
    })
    await out.newStream('/test/refused/1').catch(() => undefined)
    await waitFor('the accepted stream to fail', () => accepted?.status === 'aborted')
  })

  it('an accepted connection answers the proposal of noise and sends its second handshake message in one write', async () => {
    const listener = await startNode(['/ip4/127.0.0.1/tcp/0'])
    const dialer = await startNode([])
    nodes.push(listener, dialer)
    // the dialer sends the proposal with noise's first message, as agentmesh nodes do
    assert.equal(encryptOutboundEarly(dialer), true)
    const port = Number(listener.getMultiaddrs()[0]!.toString().split('/tcp/')[1]!.split('/')[0])
    const proto = net.Socket.prototype as unknown as { write: (this: net.Socket, chunk: { length?: number }, ...rest: unknown[]) => boolean }
    const write = proto.write
    const listenerWrites: number[] = []
    proto.write = function (chunk, ...rest) {
      if (this.localPort === port) listenerWrites.push(chunk?.length ?? 0)
      return write.call(this, chunk, ...rest)
    }
    try {
      await dialer.dial(listener.getMultiaddrs())
    } finally {
      proto.write = write
    }
    // without gathering: the two answers to the proposal, then noise's message, each its own write
    assert.equal(listenerWrites.length, 1, `the listener's writes during the handshake: ${listenerWrites.join(', ')}`)
  })
})

import assert from 'node:assert/strict'
import { noise } from '@chainsafe/libp2p-noise'
import type { Connection, Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p } from 'libp2p'
import { FIRST_PING_DELAY_MS, tuneYamuxWindowUpdates, yamuxPingingLater } from '../../src/net/index.ts'
import { waitFor } from '../fixtures/wait.ts'
import { ACK, DATA, muxerOf, PING, recordFrames, SYN, WINDOW_UPDATE } from '../fixtures/yamux-frames.ts'

async function startNode(listen: string[]): Promise<Libp2p> {
  return await createLibp2p({
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamuxPingingLater()]
  })
}

/** A multistream-select proposal of `protocol`, as an early stream sends it. */
function proposal(protocol: string): Uint8Array {
  const lines = ['/multistream/1.0.0\n', `${protocol}\n`].map((l) => new TextEncoder().encode(l))
  const out: number[] = []
  for (const line of lines) out.push(line.length, ...line)
  return new Uint8Array(out)
}

const turn = async (): Promise<void> => await new Promise((resolve) => setImmediate(resolve))

describe('yamux tunings (real libp2p nodes over TCP)', () => {
  const nodes: Libp2p[] = []
  before(() => {
    assert.equal(tuneYamuxWindowUpdates(), true)
  })
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
  })

  async function connected(): Promise<{ dialer: Libp2p; listener: Libp2p; out: Connection; inbound: () => Connection }> {
    const listener = await startNode(['/ip4/127.0.0.1/tcp/0'])
    const dialer = await startNode([])
    nodes.push(listener, dialer)
    const out = await dialer.dial(listener.getMultiaddrs())
    await waitFor('the listener to see the connection', () => listener.getConnections().length === 1)
    return { dialer, listener, out, inbound: () => listener.getConnections()[0]! }
  }

  it('a stream that writes in the turn it opens carries SYN on its first data frame, and the answer carries ACK', async () => {
    const { listener, out, inbound } = await connected()
    await listener.handle('/test/sink/1', () => {})
    const theirs = recordFrames(muxerOf(inbound()))
    const muxer = muxerOf(out)
    const mine = recordFrames(muxer)
    const stream = await muxer.createStream()
    stream.send(proposal('/test/sink/1'))
    await new Promise<void>((resolve) => stream.addEventListener('message', () => resolve(), { once: true }))
    const id = Number(stream.id)
    assert.deepEqual(mine.filter((f) => f.type !== PING), [{ type: DATA, flag: SYN, streamID: id }], 'one frame: the data, with SYN')
    const answer = theirs.filter((f) => f.streamID === id)
    assert.deepEqual(answer[0], { type: DATA, flag: ACK, streamID: id }, 'the answer is the first frame and carries ACK')
    assert.equal(answer.filter((f) => f.type === WINDOW_UPDATE).length, 0, 'no window update of its own for the ACK')
    stream.abort(new Error('done'))
  })

  it('a stream that sends nothing still opens at the end of the turn (a window update with SYN)', async () => {
    const { out, inbound } = await connected()
    const muxer = muxerOf(out)
    const frames = recordFrames(muxer)
    const before = inbound().streams.length
    const stream = await muxer.createStream()
    assert.equal(frames.filter((f) => f.flag & SYN).length, 0, 'no SYN yet in the turn that opened it')
    await turn()
    assert.deepEqual(
      frames.filter((f) => f.type !== PING),
      [{ type: WINDOW_UPDATE, flag: SYN, streamID: frames[0]!.streamID }]
    )
    await waitFor('the remote to see the stream', () => inbound().streams.length === before + 1)
    stream.abort(new Error('done'))
  })

  it('an accepted stream that does not answer in the turn its first data arrived acknowledges it then', async () => {
    const { out, inbound } = await connected()
    const theirs = recordFrames(muxerOf(inbound()))
    const muxer = muxerOf(out)
    const stream = await muxer.createStream()
    // the length of a multistream-select line and nothing more: the remote waits for the rest, writing nothing
    stream.send(new Uint8Array([19]))
    await waitFor('the ACK', () => theirs.some((f) => f.type === WINDOW_UPDATE && (f.flag & ACK) !== 0))
    assert.equal(theirs.filter((f) => f.type === DATA).length, 0, 'the remote sent no data')
    await waitFor('the opener to see the ACK', () => (stream as unknown as { state: number }).state === 3)
    stream.abort(new Error('done'))
  })

  it('an acknowledgement that the connection refuses at the end of the turn fails the stream, not the process', async () => {
    const { out, inbound } = await connected()
    const remote = muxerOf(inbound())
    const send = remote.sendFrame.bind(remote)
    remote.sendFrame = (header, data) => {
      if (header.type === WINDOW_UPDATE && (header.flag & ACK) !== 0) throw new Error('the connection is closing')
      return send(header, data)
    }
    let accepted: Stream | undefined
    ;(remote as unknown as EventTarget).addEventListener('stream', (evt) => (accepted = (evt as CustomEvent<Stream>).detail))
    const stream = await muxerOf(out).createStream()
    stream.send(new Uint8Array([19]))
    await waitFor('the remote stream to fail', () => accepted?.status === 'aborted')
    stream.abort(new Error('done'))
  })

  it(`pings first ${FIRST_PING_DELAY_MS} ms after a connection opens, not on the cold path`, async () => {
    const { out } = await connected()
    const muxer = muxerOf(out)
    const frames = recordFrames(muxer)
    // the round trip is known once the first ping is answered: not before the delay (at once, before)
    await waitFor('the first ping', () => muxer.rtt > -1)
    const ms = Date.now() - out.timeline.open
    assert.ok(ms >= FIRST_PING_DELAY_MS * 0.8, `the first ping was answered ${ms} ms after the connection opened`)
    assert.ok(frames.some((f) => f.type === PING && f.flag === SYN), 'the keep-alive pinged')
  })

  it('sends no ping on a connection closed before its first ping was due', async () => {
    const { out } = await connected()
    const muxer = muxerOf(out)
    const frames = recordFrames(muxer)
    await out.close()
    await new Promise((resolve) => setTimeout(resolve, FIRST_PING_DELAY_MS * 2))
    assert.equal(frames.filter((f) => f.type === PING).length, 0)
    assert.equal(muxer.rtt, -1)
  })
})

import assert from 'node:assert/strict'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import type { Stream } from '@libp2p/interface'
import { createLibp2p, type Libp2p } from 'libp2p'
import { BatchWriter } from '../../src/rpc/batch-writer.ts'
import { BATCH_MAX_BYTES, BATCH_MAX_FRAMES } from '../../src/rpc/constants.ts'

const SINK = '/test/sink/1'

describe('batch writer (a real yamux stream over TCP)', () => {
  const nodes: Libp2p[] = []
  let received: Uint8Array[] = []
  let stream: Stream
  let sends: number

  beforeEach(async () => {
    received = []
    const start = async (listen: string[]): Promise<Libp2p> =>
      await createLibp2p({ addresses: { listen }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
    const listener = await start(['/ip4/127.0.0.1/tcp/0'])
    const dialer = await start([])
    nodes.push(listener, dialer)
    await listener.handle(SINK, (s) => {
      s.addEventListener('message', (evt) => received.push(evt.data.subarray()))
    })
    stream = await (await dialer.dial(listener.getMultiaddrs())).newStream(SINK)
    sends = 0
    const send = stream.send.bind(stream)
    stream.send = (data) => {
      sends++
      return send(data)
    }
  })
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
  })

  async function arrived(bytes: number): Promise<Uint8Array> {
    const deadline = Date.now() + 5_000
    while (received.reduce((n, r) => n + r.byteLength, 0) < bytes) {
      if (Date.now() > deadline) throw new Error('the bytes never arrived')
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    const all = new Uint8Array(bytes)
    let at = 0
    for (const r of received) {
      all.set(r, at)
      at += r.byteLength
    }
    return all
  }

  /** A writer whose last turn wrote several frames: it gathers the frames of the next turn. */
  async function busyWriter(): Promise<BatchWriter> {
    const writer = new BatchWriter(stream)
    let written = 0
    for (let attempt = 0; attempt < 20; attempt++) {
      sends = 0
      writer.write(new Uint8Array(1))
      writer.write(new Uint8Array(1))
      written += 2
      // the first may go at once; the second waits for the end of the turn unless the process
      // stalled for over BATCH_QUIET_MS between the two writes (a busy host): then it looked alone
      const gathered = sends <= 1
      await writer.ready()
      await new Promise((resolve) => setImmediate(resolve))
      await arrived(written)
      if (gathered) break
    }
    received = []
    sends = 0
    return writer
  }

  it('sends the frames written in one turn of the event loop as one write, in order, once turns carry several', async () => {
    const writer = await busyWriter()
    const frames = Array.from({ length: 10 }, (_, i) => new Uint8Array(100).fill(i))
    for (const f of frames) writer.write(f)
    assert.equal(sends, 0, 'nothing is sent before the turn ends')
    assert.equal(writer.pending, 1_000)
    await writer.ready()
    assert.equal(sends, 1)
    assert.equal(writer.pending, 0)
    const all = await arrived(1_000)
    frames.forEach((f, i) => assert.deepEqual(all.subarray(i * 100, i * 100 + 100), f))
  })

  it('sends a frame at once when the stream was quiet and its turns carry one frame each (one call at a time)', async () => {
    const writer = new BatchWriter(stream)
    for (let turn = 0; turn < 3; turn++) {
      writer.write(new Uint8Array(10).fill(turn))
      assert.equal(sends, turn + 1, `the frame of turn ${turn} went at once`)
      // a call at a time: the next frame comes a round trip later
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    // a second frame in the same turn waits for the end of the turn, with any others
    writer.write(new Uint8Array(10).fill(3))
    writer.write(new Uint8Array(10).fill(4))
    writer.write(new Uint8Array(10).fill(5))
    assert.equal(sends, 4)
    await writer.ready()
    assert.equal(sends, 5)
    const all = await arrived(60)
    assert.deepEqual([...all.filter((_, i) => i % 10 === 0)], [0, 1, 2, 3, 4, 5])
  })

  it(`sends a batch as soon as it holds ${BATCH_MAX_FRAMES} frames, and the rest at the end of the turn`, async () => {
    const writer = await busyWriter()
    for (let i = 0; i < 2 * BATCH_MAX_FRAMES + 5; i++) writer.write(new Uint8Array(10).fill(i))
    assert.equal(sends, 2, 'two full batches went at once')
    await writer.ready()
    assert.equal(sends, 3)
    const all = await arrived((2 * BATCH_MAX_FRAMES + 5) * 10)
    assert.equal(all[all.byteLength - 1], 2 * BATCH_MAX_FRAMES + 4)
  })

  it(`sends a frame of ${BATCH_MAX_BYTES} bytes or more at once`, async () => {
    const writer = await busyWriter()
    writer.write(new Uint8Array(BATCH_MAX_BYTES).fill(9))
    assert.equal(sends, 1)
    assert.equal(writer.pending, 0)
    assert.equal((await arrived(BATCH_MAX_BYTES))[BATCH_MAX_BYTES - 1], 9)
  })
})

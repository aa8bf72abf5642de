import assert from 'node:assert/strict'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { AbstractMessageStream } from '@libp2p/utils'
import { createLibp2p, type Libp2p } from 'libp2p'
import { sendDirectWhenIdle } from '../../src/net/index.ts'

type List = { byteLength: number; subarray(): Uint8Array; consume(n: number): void }
type SendResult = { sentBytes: number; canSendMore: boolean }

/** A message stream whose layer below is a function: it records what it is handed, and answers as told. */
class ScriptedStream extends AbstractMessageStream {
  below: (data: List) => SendResult = (data) => ({ sentBytes: data.byteLength, canSendMore: true })
  sent: number[] = []

  constructor() {
    const log = Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false })
    super({ log: log as never, direction: 'outbound' })
  }

  sendData(data: List): SendResult {
    return this.below(data)
  }
  sendReset(): void {}
  sendPause(): void {}
  sendResume(): void {}
  async close(): Promise<void> {}
}

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values)

describe('direct send when a stream has nothing queued', () => {
  before(() => {
    assert.equal(sendDirectWhenIdle(), true, 'the message stream class has the expected shape')
  })

  it('hands an idle stream\'s message to the layer below without passing it through the write buffer', () => {
    const stream = new ScriptedStream()
    const buffer = (stream as unknown as { writeBuffer: { append: (d: unknown) => void } }).writeBuffer
    let queued = 0
    const append = buffer.append.bind(buffer)
    buffer.append = (d) => {
      queued++
      append(d)
    }
    const handed: number[][] = []
    stream.below = (data) => {
      handed.push([...data.subarray()])
      return { sentBytes: data.byteLength, canSendMore: true }
    }
    assert.equal(stream.send(bytes(1, 2)), true)
    assert.deepEqual(handed, [[1, 2]])
    assert.equal(queued, 0, 'the message never went through the write buffer')
  })

  it('keeps the order when the layer below sends on the same stream while it is sending (re-entrant)', () => {
    const stream = new ScriptedStream()
    const seen: number[] = []
    let first = true
    stream.below = (data) => {
      const all = data.subarray()
      if (first) {
        first = false
        // takes one byte, and while at it something else writes to the stream
        seen.push(all[0]!)
        data.consume(data.byteLength) // a layer below may consume what it is handed
        stream.send(bytes(9))
        return { sentBytes: 1, canSendMore: true }
      }
      seen.push(...all)
      return { sentBytes: all.byteLength, canSendMore: true }
    }
    assert.equal(stream.send(bytes(1, 2, 3)), true)
    assert.deepEqual(seen, [1, 2, 3, 9], 'the rest of the first message before the one written meanwhile')
    assert.equal(stream.writeBufferLength, 0)
  })

  it('reports backpressure, keeps the unsent bytes, and sends them (and later ones) after the drain', () => {
    const stream = new ScriptedStream()
    const seen: number[] = []
    let room = 2
    stream.below = (data) => {
      const all = data.subarray()
      const take = Math.min(room, all.byteLength)
      seen.push(...all.subarray(0, take))
      room -= take
      return { sentBytes: take, canSendMore: room > 0 }
    }
    assert.equal(stream.send(bytes(1, 2, 3, 4)), false, 'the layer below is full')
    assert.equal(stream.writableNeedsDrain, true)
    assert.equal(stream.writeBufferLength, 2)
    assert.equal(stream.send(bytes(5)), false, 'queued behind the unsent bytes')
    room = 100
    stream.onMuxerDrain()
    return new Promise<void>((resolve) => {
      queueMicrotask(() => {
        assert.deepEqual(seen, [1, 2, 3, 4, 5])
        assert.equal(stream.writeBufferLength, 0)
        resolve()
      })
    })
  })

  it('aborts the stream when the layer below throws, as the library does', () => {
    const stream = new ScriptedStream()
    stream.below = () => {
      throw new Error('the socket is gone')
    }
    assert.throws(() => stream.send(bytes(1)), /the socket is gone/)
    assert.equal(stream.status, 'aborted')
  })

  it('leaves a message over the largest message size to the library, which splits it', () => {
    const stream = new ScriptedStream()
    stream.maxMessageSize = 2
    const pieces: number[][] = []
    stream.below = (data) => {
      pieces.push([...data.subarray()])
      return { sentBytes: data.byteLength, canSendMore: true }
    }
    stream.send(bytes(1, 2, 3, 4, 5))
    assert.deepEqual(pieces, [[1, 2], [3, 4], [5]])
  })

  describe('real libp2p nodes over TCP (yamux, noise)', () => {
    const nodes: Libp2p[] = []
    after(async () => {
      await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
    })

    it('carries every byte of a mix of small and large messages written back to back, in order', async () => {
      const start = async (listen: string[]): Promise<Libp2p> =>
        await createLibp2p({ addresses: { listen }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
      const listener = await start(['/ip4/127.0.0.1/tcp/0'])
      const dialer = await start([])
      nodes.push(listener, dialer)
      const received: Uint8Array[] = []
      let total = 0
      let done: () => void = () => {}
      const all = new Promise<void>((resolve) => {
        done = resolve
      })
      const sizes = [1, 100, 70_000, 3, 300_000, 64 * 1024 - 12, 5, 1 << 20, 17]
      const expected = sizes.reduce((n, s) => n + s, 0)
      await listener.handle('/test/sink/1', (s) => {
        s.addEventListener('message', (evt) => {
          received.push(evt.data.subarray())
          total += evt.data.byteLength
          if (total >= expected) done()
        })
      })
      const stream = await (await dialer.dial(listener.getMultiaddrs())).newStream('/test/sink/1')
      sizes.forEach((size, i) => stream.send(new Uint8Array(size).fill(i + 1)))
      await all
      const joined = Buffer.concat(received)
      let at = 0
      sizes.forEach((size, i) => {
        assert.ok(joined.subarray(at, at + size).every((b) => b === i + 1), `message ${i} (${size} bytes) intact and in place`)
        at += size
      })
    })
  })
})

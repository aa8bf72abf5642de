import assert from 'node:assert/strict'
import net from 'node:net'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p } from 'libp2p'
import { JOIN_WRITES_MAX_BYTES, joinSmallWrites, joinTransportWrites } from '../../src/net/index.ts'

async function startNode(listen: string[], join: boolean): Promise<Libp2p> {
  const node = await createLibp2p({
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({ enableKeepAlive: false })]
  })
  if (join) assert.equal(joinTransportWrites(node), true)
  return node
}

/** The byte counts of every TCP socket write made while `run` runs. */
async function socketWrites(run: () => Promise<unknown>): Promise<number[]> {
  const proto = net.Socket.prototype as unknown as { write: (chunk: { length?: number }, ...rest: unknown[]) => boolean }
  const write = proto.write
  const sizes: number[] = []
  proto.write = function (this: net.Socket, chunk, ...rest) {
    sizes.push(chunk?.length ?? 0)
    return write.call(this, chunk, ...rest)
  }
  try {
    await run()
  } finally {
    proto.write = write
  }
  return sizes
}

/** A list of chunks with the parts of `Uint8ArrayList` that joining uses. */
function chunkList(...chunks: Uint8Array[]) {
  const list = {
    bufs: [...chunks],
    get byteLength() {
      return list.bufs.reduce((n, b) => n + b.byteLength, 0)
    },
    subarray(): Uint8Array {
      const out = new Uint8Array(list.byteLength)
      let at = 0
      for (const b of list.bufs) {
        out.set(b, at)
        at += b.byteLength
      }
      return out
    },
    consume(bytes: number): void {
      assert.equal(bytes, list.byteLength, 'joining consumes the whole list')
      list.bufs = []
    },
    append(bytes: Uint8Array): void {
      list.bufs.push(bytes)
    }
  }
  return list
}

describe('joined transport writes', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
  })

  it('sends no length prefix or empty chunk of a handshake message as a write of its own (real nodes over TCP)', async () => {
    const listener = await startNode(['/ip4/127.0.0.1/tcp/0'], true)
    const dialer = await startNode([], true)
    nodes.push(listener, dialer)
    const sizes = await socketWrites(async () => await dialer.dial(listener.getMultiaddrs()))
    assert.ok(sizes.length > 0)
    // the length prefix of a noise message (2 bytes) and empty chunks no longer go out on their own
    assert.deepEqual(
      sizes.filter((n) => n <= 2),
      [],
      `writes: ${sizes.join(', ')}`
    )
  })

  it('the same dial without joining writes length prefixes alone (what the test above tells apart)', async () => {
    const listener = await startNode(['/ip4/127.0.0.1/tcp/0'], false)
    const dialer = await startNode([], false)
    nodes.push(listener, dialer)
    const sizes = await socketWrites(async () => await dialer.dial(listener.getMultiaddrs()))
    assert.ok(sizes.filter((n) => n <= 2).length > 0, `writes: ${sizes.join(', ')}`)
  })

  it('hands a small list over as one chunk holding the same bytes, and a large one as it is', () => {
    const sent: Uint8Array[][] = []
    const maConn = {
      sendData(data: ReturnType<typeof chunkList>) {
        sent.push([...data.bufs])
        return { sentBytes: data.byteLength, canSendMore: true }
      }
    }
    joinSmallWrites(maConn)
    const small = maConn.sendData(chunkList(new Uint8Array([0, 3]), new Uint8Array([7, 8, 9]), new Uint8Array(0)))
    assert.deepEqual(small, { sentBytes: 5, canSendMore: true })
    assert.deepEqual(sent[0], [new Uint8Array([0, 3, 7, 8, 9])])
    const big = [new Uint8Array(JOIN_WRITES_MAX_BYTES), new Uint8Array(1)]
    maConn.sendData(chunkList(...big))
    assert.equal(sent[1]!.length, 2, 'a list over the limit keeps its chunks (no copy)')
    assert.equal(sent[1]![0], big[0])
    maConn.sendData(chunkList(new Uint8Array([1])))
    assert.deepEqual(sent[2], [new Uint8Array([1])])
  })
})

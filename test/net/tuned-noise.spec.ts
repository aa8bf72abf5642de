import assert from 'node:assert/strict'
import net from 'node:net'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import type { Stream } from '@libp2p/interface'
import { createLibp2p, type Libp2p } from 'libp2p'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { Uint8ArrayList } from 'uint8arraylist'
import { tunedNoise } from '../../src/net/index.ts'
import { sessionKeyCrypto } from '../../src/net/tuned-noise.ts'

const ECHO = '/test/echo/1'
const SINK = '/test/sink/1'
let sunk = 0

async function startNode(encrypter: ReturnType<typeof noise>, listen: string[] = []): Promise<Libp2p> {
  const node = await createLibp2p({
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [encrypter],
    streamMuxers: [yamux()]
  })
  await node.handle(ECHO, (stream) => {
    stream.addEventListener('message', (evt) => {
      stream.send(evt.data.subarray())
    })
    stream.addEventListener('remoteCloseWrite', () => {
      void stream.close()
    })
  })
  await node.handle(SINK, (stream) => {
    stream.addEventListener('message', (evt) => {
      sunk += evt.data.byteLength
    })
  })
  return node
}

/** Send `bytes` on `stream` and read back as many bytes. */
async function echo(stream: Stream, bytes: Uint8Array): Promise<Uint8Array> {
  const received = new Uint8Array(bytes.byteLength)
  let at = 0
  const done = new Promise<void>((resolve) => {
    const onMessage = (evt: { data: { subarray(): Uint8Array } }): void => {
      const chunk = evt.data.subarray()
      received.set(chunk, at)
      at += chunk.byteLength
      if (at >= bytes.byteLength) {
        stream.removeEventListener('message', onMessage)
        resolve()
      }
    }
    stream.addEventListener('message', onMessage)
  })
  if (!stream.send(bytes)) await stream.onDrain()
  await done
  return received
}

/** Count the socket writes (system calls) while `work` runs. */
async function countSocketWrites(work: () => Promise<void>): Promise<number> {
  const proto = net.Socket.prototype as unknown as { _writeGeneric: (...args: unknown[]) => unknown }
  const original = proto._writeGeneric
  let writes = 0
  proto._writeGeneric = function (this: unknown, ...args: unknown[]) {
    writes++
    return original.apply(this, args)
  }
  try {
    await work()
  } finally {
    proto._writeGeneric = original
  }
  return writes
}

/** Count the RangeErrors constructed while `work` runs. */
async function countRangeErrors(work: () => Promise<void>): Promise<number> {
  const original = globalThis.RangeError
  let made = 0
  globalThis.RangeError = new Proxy(original, {
    construct(target, args) {
      made++
      return Reflect.construct(target, args) as object
    },
    apply(target, self, args) {
      made++
      return Reflect.apply(target, self, args) as unknown
    }
  })
  try {
    await work()
  } finally {
    globalThis.RangeError = original
  }
  return made
}

describe('tuned noise (real libp2p nodes over TCP)', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
  })

  async function pair(local: ReturnType<typeof noise>, remote: ReturnType<typeof noise>): Promise<Stream> {
    const listener = await startNode(remote, ['/ip4/127.0.0.1/tcp/0'])
    const dialer = await startNode(local)
    nodes.push(listener, dialer)
    const connection = await dialer.dial(listener.getMultiaddrs())
    return await connection.newStream(ECHO)
  }

  it('carries every byte of messages from 1 byte to 1 MiB, across noise frame boundaries, both ways', async () => {
    const stream = await pair(tunedNoise(), tunedNoise())
    for (const size of [1, 2, 3, 100, 65_519, 65_535, 65_536, 200_001, 1 << 20]) {
      const bytes = new Uint8Array(size).map((_, i) => (i * 31 + size) & 0xff)
      assert.deepEqual(await echo(stream, bytes), bytes, `${size} bytes came back unchanged`)
    }
  })

  it('speaks plain noise: a tuned node and a plain one understand each other, small frames and large', async () => {
    const stream = await pair(tunedNoise(), noise())
    const bytes = new Uint8Array(100_000).map((_, i) => i & 0xff)
    assert.deepEqual(await echo(stream, bytes), bytes)
  })

  it('encrypts small frames straight into the socket buffer, readable by plain noise at every size around 1200 bytes', async () => {
    // yamux adds a 12-byte header: these messages make noise frames of 13, 1183, 1199, 1200 and 1201 bytes
    for (const [local, remote] of [
      [tunedNoise(), noise()],
      [noise(), tunedNoise()],
      [tunedNoise(), tunedNoise()]
    ] as const) {
      const stream = await pair(local, remote)
      for (const size of [1, 1171, 1187, 1188, 1189]) {
        const bytes = new Uint8Array(size).map((_, i) => (i * 7 + size) & 0xff)
        assert.deepEqual(await echo(stream, bytes), bytes, `${size} bytes came back unchanged`)
      }
      // many small frames in a row: each frame buffer is its own (nothing is shared between writes)
      const burst = Array.from({ length: 200 }, (_, i) => new Uint8Array(50 + (i % 40)).fill(i))
      const all = new Uint8Array(burst.reduce((n, b) => n + b.byteLength, 0))
      let at = 0
      for (const b of burst) {
        all.set(b, at)
        at += b.byteLength
      }
      const received = new Uint8Array(all.byteLength)
      let got = 0
      const done = new Promise<void>((resolve) => {
        stream.addEventListener('message', (evt) => {
          const chunk = evt.data.subarray()
          received.set(chunk, got)
          got += chunk.byteLength
          if (got >= all.byteLength) resolve()
        })
      })
      for (const b of burst) stream.send(b)
      await done
      assert.deepEqual(received, all)
    }
  })

  it('builds no error per received message (plain noise builds one each)', async () => {
    const messages = 300
    const small = new Uint8Array(100).fill(7)
    const run = async (stream: Stream): Promise<number> =>
      await countRangeErrors(async () => {
        for (let i = 0; i < messages; i++) await echo(stream, small)
      })
    const plain = await run(await pair(noise(), noise()))
    const cheap = await run(await pair(tunedNoise(), tunedNoise()))
    assert.ok(plain >= messages, `plain noise built ${plain} RangeErrors for ${messages} round trips`)
    assert.ok(cheap < 10, `tuned noise built ${cheap} RangeErrors for ${messages} round trips`)
  })

  it('hands each write to the socket as one buffer (plain noise writes every piece on its own)', async () => {
    const messages = 100
    const payload = new Uint8Array(4_096).fill(3)
    const run = async (local: ReturnType<typeof noise>, remote: ReturnType<typeof noise>): Promise<number> => {
      const listener = await startNode(remote, ['/ip4/127.0.0.1/tcp/0'])
      const dialer = await startNode(local)
      nodes.push(listener, dialer)
      const stream = await (await dialer.dial(listener.getMultiaddrs())).newStream(SINK)
      sunk = 0
      const writes = await countSocketWrites(async () => {
        for (let i = 0; i < messages; i++) {
          if (!stream.send(payload)) await stream.onDrain()
          await new Promise((resolve) => setImmediate(resolve))
        }
        while (sunk < messages * payload.byteLength) await new Promise((resolve) => setTimeout(resolve, 5))
      })
      return writes / messages
    }
    const plain = await run(noise(), noise())
    const tuned = await run(tunedNoise(), noise())
    assert.ok(plain >= 2, `plain noise: ${plain} socket writes per message`)
    assert.ok(tuned <= 1.2, `tuned noise: ${tuned} socket writes per message`)
  })
})

describe('tuned noise handshake keys (X25519 and the payload signature, against the library)', () => {
  it('agrees with the library on every shared key: its own key pairs, the library’s, and keys handed over as lists', () => {
    for (let i = 0; i < 20; i++) {
      const ours = sessionKeyCrypto.generateX25519KeyPair()
      const theirs = defaultCrypto.generateX25519KeyPair()
      const expected = defaultCrypto.generateX25519SharedKey(theirs.privateKey, ours.publicKey)
      // the pair generated natively is a real pair: the library, from the other side, derives the same key
      assert.deepEqual(new Uint8Array(sessionKeyCrypto.generateX25519SharedKey(ours.privateKey, theirs.publicKey)), new Uint8Array(expected))
      // a remote key arrives as a slice of a message (a list), and is used twice in a handshake
      const asList = new Uint8ArrayList(theirs.publicKey.subarray(0, 7), theirs.publicKey.subarray(7))
      assert.deepEqual(new Uint8Array(sessionKeyCrypto.generateX25519SharedKey(ours.privateKey, asList)), new Uint8Array(expected))
      assert.deepEqual(new Uint8Array(sessionKeyCrypto.generateX25519SharedKey(ours.privateKey, asList)), new Uint8Array(expected))
      // keys the library generated (a static key from a seed, for one) work too
      const other = defaultCrypto.generateX25519KeyPair()
      assert.deepEqual(
        new Uint8Array(sessionKeyCrypto.generateX25519SharedKey(other.privateKey, theirs.publicKey)),
        new Uint8Array(defaultCrypto.generateX25519SharedKey(other.privateKey, theirs.publicKey))
      )
    }
  })

  it('refuses a small-order public key as the library does (threat: a peer forcing a known all-zero shared key)', () => {
    const ours = sessionKeyCrypto.generateX25519KeyPair()
    const zero = new Uint8Array(32)
    assert.throws(() => defaultCrypto.generateX25519SharedKey(ours.privateKey, zero))
    assert.throws(() => sessionKeyCrypto.generateX25519SharedKey(ours.privateKey, zero))
  })

  it('signs the handshake payload with the same bytes as @libp2p/crypto, and plain noise accepts it both ways', async () => {
    const key = await generateKeyPair('Ed25519')
    const payload = new TextEncoder().encode('noise-libp2p-static-key:0123456789abcdef0123456789abcdef')
    const tuned = tunedNoise()({
      privateKey: key,
      logger: defaultLogger(),
      upgrader: { getStreamMuxers: () => new Map() }
    } as unknown as Parameters<ReturnType<typeof noise>>[0]) as unknown as { components: { privateKey: { sign(m: Uint8Array): Uint8Array | Promise<Uint8Array> } } }
    const signature = await tuned.components.privateKey.sign(payload)
    assert.deepEqual(new Uint8Array(signature), new Uint8Array(await key.sign(payload)))
    assert.equal(await key.publicKey.verify(payload, signature), true)

    // a tuned initiator and a plain responder, then a plain initiator and a tuned responder: each side
    // verifies the other's payload signature and both derive the same keys
    const nodes: Libp2p[] = []
    try {
      for (const [dialing, listening] of [[tunedNoise(), noise()], [noise(), tunedNoise()]] as const) {
        const listener = await startNode(listening, ['/ip4/127.0.0.1/tcp/0'])
        const dialer = await startNode(dialing)
        nodes.push(listener, dialer)
        const connection = await dialer.dial(listener.getMultiaddrs())
        assert.equal(connection.remotePeer.toString(), listener.peerId.toString())
        const stream = await connection.newStream(ECHO)
        assert.deepEqual(await echo(stream, Uint8Array.of(1, 2, 3)), Uint8Array.of(1, 2, 3))
      }
    } finally {
      await Promise.all(nodes.map(async (n) => n.stop()))
    }
  })
})

describe('tuned noise HKDF', () => {
  it('derives the same three keys as the library for chaining keys and inputs of every length noise uses', () => {
    for (const ikmBytes of [0, 32, 64]) {
      for (let i = 0; i < 10; i++) {
        const ck = new Uint8Array(32).map(() => Math.floor(Math.random() * 256))
        const ikm = new Uint8Array(ikmBytes).map(() => Math.floor(Math.random() * 256))
        const ours = sessionKeyCrypto.getHKDF(ck, ikm).map((k) => new Uint8Array(k))
        const theirs = defaultCrypto.getHKDF(ck, ikm).map((k) => new Uint8Array(k))
        assert.deepEqual(ours, theirs)
        assert.deepEqual(ours.map((k) => k.byteLength), [32, 32, 32])
      }
    }
  })
})

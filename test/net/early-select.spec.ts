import assert from 'node:assert/strict'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Connection, Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p } from 'libp2p'
import { MeshError } from '../../src/errors.ts'
import { newStreamEarly, openEarly } from '../../src/net/index.ts'
import { callOnConnection } from '../../src/rpc/client.ts'

const ECHO = '/test/echo/1'
const text = (s: string): Uint8Array => new TextEncoder().encode(s)
/** A multistream-select message: varint length (one byte here), then the line and a newline. */
const line = (s: string): number[] => [s.length + 1, ...text(`${s}\n`)]

/** What reaches the stream's readers, and how it ends. */
function watch(stream: Stream): { data: number[]; ended: Promise<Error | undefined> } {
  const data: number[] = []
  stream.addEventListener('message', (evt) => {
    data.push(...evt.data.subarray())
  })
  const ended = new Promise<Error | undefined>((resolve) => {
    stream.addEventListener('close', (evt) => resolve((evt as { error?: Error }).error), { once: true })
  })
  return { data, ended }
}

/** Bytes arriving on `stream` from the wire, handed in where the muxer hands them in. */
function arrive(stream: Stream, bytes: number[]): void {
  ;(stream as unknown as { onData(data: Uint8Array): void }).onData(Uint8Array.from(bytes))
}

describe('streams that send their protocol proposal with the first bytes', () => {
  const nodes: Libp2p[] = []
  let connection: Connection
  let listener: Libp2p
  let dialer: Libp2p
  let quiet: Libp2p
  let handledEcho = 0
  /** Streams the listener's handler of each protocol has been given. */
  const handled = new Map<string, number>()

  before(async () => {
    const start = async (listen: string[]): Promise<Libp2p> =>
      await createLibp2p({ addresses: { listen }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
    listener = await start(['/ip4/127.0.0.1/tcp/0'])
    dialer = await start([])
    nodes.push(listener, dialer)
    for (const protocol of ['/test/plain/1', '/test/early/1']) {
      await listener.handle(protocol, () => {
        handled.set(protocol, (handled.get(protocol) ?? 0) + 1)
      })
    }
    quiet = await start(['/ip4/127.0.0.1/tcp/0'])
    nodes.push(quiet)
    await listener.handle(ECHO, (stream) => {
      handledEcho++
      stream.addEventListener('message', (evt) => {
        stream.send(evt.data)
      })
      // the request and its end can arrive with the proposal, before this handler runs
      if (stream.remoteWriteStatus === 'closed') queueMicrotask(() => void stream.close())
      else stream.addEventListener('remoteCloseWrite', () => void stream.close())
    })
    connection = await dialer.dial(listener.getMultiaddrs())
  })

  after(async () => {
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
  })

  it('negotiates with the peer\'s handler and carries the bytes written before the answer came', async () => {
    const stream = await newStreamEarly(connection, ECHO)
    assert.equal(stream.protocol, ECHO)
    const seen = watch(stream)
    stream.send(text('hello'))
    stream.send(text(' world'))
    await stream.close()
    await seen.ended
    assert.equal(new TextDecoder().decode(Uint8Array.from(seen.data)), 'hello world')
  })

  it('aborts the stream with UNAVAILABLE when the peer does not speak the protocol, and no byte reaches the readers', async () => {
    const stream = await newStreamEarly(connection, '/test/nobody-here/1')
    const seen = watch(stream)
    stream.send(text('a request nobody reads'))
    const err = await seen.ended
    assert.ok(MeshError.is(err, 'UNAVAILABLE'), String(err))
    assert.match(err.message, /does not speak \/test\/nobody-here\/1/)
    assert.deepEqual(seen.data, [])
  })

  it('a call to a peer without the rpc protocol fails with UNAVAILABLE instead of waiting for its deadline', async () => {
    await assert.rejects(callOnConnection(connection, '/x/y', {}, { timeout: 60_000 }), (err: unknown) => MeshError.is(err, 'UNAVAILABLE'))
  })

  it('holds back the data that follows the answer until the answer is complete, across chunks', async () => {
    // nothing is sent, so the peer never answers: the bytes below are the only ones arriving
    const stream = await newStreamEarly(connection, ECHO)
    const seen = watch(stream)
    const answer = [...line('/multistream/1.0.0'), ...line(ECHO)]
    arrive(stream, answer.slice(0, 7))
    arrive(stream, answer.slice(7, 21))
    assert.deepEqual(seen.data, [])
    arrive(stream, [...answer.slice(21), 1, 2, 3])
    arrive(stream, [4])
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(seen.data, [1, 2, 3, 4])
    stream.abort(new Error('done'))
  })

  it('aborts when the answer names another protocol (threat: a peer or relay swapping the protocol under the opener)', async () => {
    const stream = await newStreamEarly(connection, ECHO)
    const seen = watch(stream)
    arrive(stream, [...line('/multistream/1.0.0'), ...line('/test/other/1'), 9, 9])
    const err = await seen.ended
    assert.ok(MeshError.is(err, 'UNAVAILABLE'), String(err))
    assert.deepEqual(seen.data, [])
  })

  it('aborts on an answer that is not multistream-select (threat: garbage read as the protocol\'s first bytes)', async () => {
    const garbage: number[][] = [
      [...line('/not-multistream/9'), ...line(ECHO)],
      // the right header, then the protocol's line with something else where its newline belongs
      [...line('/multistream/1.0.0'), ECHO.length + 1, ...text(ECHO), 0x20],
      // a long declared length (varint 0x81 0x10 = 2049): refused at its first byte, not read
      [0x81, 0x10, 1, 2, 3],
      // a varint that never ends
      [0xff, 0xff, 0xff, 0xff]
    ]
    for (const bytes of garbage) {
      const stream = await newStreamEarly(connection, ECHO)
      const seen = watch(stream)
      arrive(stream, bytes)
      const err = await seen.ended
      assert.ok(MeshError.is(err, 'UNAVAILABLE'), `${JSON.stringify(bytes)}: ${String(err)}`)
      assert.deepEqual(seen.data, [])
    }
  })

  it('refuses a stream over the protocol\'s outbound limit, as libp2p\'s newStream does (threat: one caller exhausting a connection)', async () => {
    const opened = await Promise.allSettled([1, 2, 3].map(async () => await newStreamEarly(connection, ECHO, { maxOutboundStreams: 2 })))
    const held = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []))
    assert.equal(held.length, 2, 'three opened in the same turn: one is refused')
    assert.equal((opened.find((o) => o.status === 'rejected') as PromiseRejectedResult).reason.name, 'TooManyOutboundProtocolStreamsError')
    held.pop()?.abort(new Error('done'))
    const again = await newStreamEarly(connection, ECHO, { maxOutboundStreams: 2 })
    for (const s of [...held, again]) s.abort(new Error('done'))
  })

  it('openEarly makes a node\'s connections open the listed protocols early, and leaves the others to libp2p', async () => {
    openEarly(dialer, ['/test/early/1'])
    const early = await connection.newStream('/test/early/1')
    // nothing has crossed yet: the proposal leaves with the first bytes
    assert.equal(handled.get('/test/early/1') ?? 0, 0)
    early.send(text('go'))
    for (let i = 0; i < 100 && handled.get('/test/early/1') === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.equal(handled.get('/test/early/1'), 1)
    // libp2p's newStream waits for the answer, so the peer's handler has the stream when it returns
    const plain = await connection.newStream('/test/plain/1')
    assert.equal(handled.get('/test/plain/1'), 1)
    for (const s of [early, plain]) s.abort(new Error('done'))
  })

  it('a stream closed before anything was written still sends its proposal, and closes', async () => {
    const seenBefore = handledEcho
    const stream = await newStreamEarly(connection, ECHO)
    await stream.close({ signal: AbortSignal.timeout(5_000) })
    for (let i = 0; i < 100 && handledEcho === seenBefore; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.equal(handledEcho, seenBefore + 1, 'the peer saw the stream and its protocol')
  })

  describe('with a peer that takes streams and never answers', () => {
    let silent: Connection
    /** The streams the silent side was given, as its muxer made them. */
    const taken: Stream[] = []
    before(async () => {
      silent = await dialer.dial(quiet.getMultiaddrs())
      for (let i = 0; i < 200 && quiet.getConnections(dialer.peerId).length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
      const far = quiet.getConnections(dialer.peerId)[0] as unknown as {
        muxer: { addEventListener(t: string, l: (e: CustomEvent<Stream>) => void): void; removeEventListener(t: string, l: unknown): void }
        onIncomingStream: unknown
      }
      // no multistream-select on that side: its streams are seen and never answered
      far.muxer.removeEventListener('stream', far.onIncomingStream)
      far.muxer.addEventListener('stream', (evt) => taken.push(evt.detail))
    })

    it('aborts the stream with UNAVAILABLE when no answer comes in time (threat: a peer holding streams open)', async () => {
      const stream = await newStreamEarly(silent, ECHO, { answerTimeoutMs: 100 })
      const seen = watch(stream)
      stream.send(text('anyone?'))
      const err = await seen.ended
      assert.ok(MeshError.is(err, 'UNAVAILABLE'), String(err))
      assert.match(err.message, /did not answer/)
    })

    it('aborts the stream with UNAVAILABLE when the peer closes it before answering', async () => {
      const already = taken.length
      const stream = await newStreamEarly(silent, ECHO)
      const seen = watch(stream)
      stream.send(text('anyone?'))
      for (let i = 0; i < 100 && taken.length === already; i++) await new Promise((resolve) => setTimeout(resolve, 10))
      assert.equal(taken.length, already + 1)
      await taken.at(-1)!.close()
      const err = await seen.ended
      assert.ok(MeshError.is(err, 'UNAVAILABLE'), String(err))
      assert.match(err.message, /closed the stream before it answered/)
    })
  })

  it('the stream and connection stay usable for other streams after one was refused', async () => {
    const refused = await newStreamEarly(connection, '/test/nobody-here/1')
    refused.send(text('x'))
    await watch(refused).ended
    const stream = await newStreamEarly(connection, ECHO)
    const seen = watch(stream)
    stream.send(text('still here'))
    await stream.close()
    await seen.ended
    assert.equal(new TextDecoder().decode(Uint8Array.from(seen.data)), 'still here')
    assert.equal(connection.status, 'open')
  })
})

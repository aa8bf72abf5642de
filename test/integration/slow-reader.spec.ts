import assert from 'node:assert/strict'
import { YamuxStream } from '@chainsafe/libp2p-yamux/stream'
import { MessageDecoder, NEED_MORE } from '../../src/rpc/codec.ts'
import { drained } from '../../src/rpc/drain.ts'
import { encodeMessage, RPC_PROTOCOL } from '../../src/rpc/index.ts'
import { type Mesh, startMesh } from '../fixtures/mesh.ts'
import type { Connection, Stream } from '@libp2p/interface'

/** 60 KiB of args: echoed back, 70 answers fill the agent's 4 MiB backlog; `/twice` answers 120 KiB. */
const ARGS = new Uint8Array(60 * 1024).fill(7)

/**
 * What the streams of this process told their transport last (yamux: stop or start granting the
 * sender window), for the agent's end of each RPC stream.
 */
function watchTransportSignals(): { last: Map<Stream, 'pause' | 'resume'>; restore: () => void } {
  const proto = YamuxStream.prototype as unknown as { sendPause(): void; sendResume(): void }
  const { sendPause, sendResume } = proto
  const last = new Map<Stream, 'pause' | 'resume'>()
  const record = (stream: Stream, signal: 'pause' | 'resume'): void => {
    if (stream.direction === 'inbound' && stream.protocol === RPC_PROTOCOL) last.set(stream, signal)
  }
  proto.sendPause = function (this: Stream) {
    record(this, 'pause')
    sendPause.call(this)
  }
  proto.sendResume = function (this: Stream) {
    record(this, 'resume')
    sendResume.call(this)
  }
  return {
    last,
    restore: () => {
      proto.sendPause = sendPause
      proto.sendResume = sendResume
    }
  }
}

describe('a caller that reads its answers slowly is held back, not reset', function () {
  this.timeout(30_000)
  let mesh: Mesh
  let toAgent: Connection
  let signals: ReturnType<typeof watchTransportSignals>

  before(async () => {
    mesh = await startMesh({ name: 'acme/prod/target' })
    mesh.agent.handle('/echo', (args: unknown) => args)
    mesh.agent.handle('/twice', (args: unknown) => [args, args])
    assert.equal(await mesh.caller.call('acme/prod/target', '/echo', 'warm'), 'warm')
    toAgent = mesh.caller.node.getConnections(mesh.agent.node.peerId)[0]!
    signals = watchTransportSignals()
  })

  after(async () => {
    signals.restore()
    await mesh.stop()
  })

  /** The caller's real capability, presented by reference plus token, as the library does. */
  function request(id: number, cmd: string): Uint8Array {
    return encodeMessage({ v: 1, type: 'req', id, cmd, args: ARGS, timeout: 30_000, auth: { prf: [mesh.grant.cid], dlg: [mesh.grant.bytes] } })
  }

  /** A raw RPC stream whose answers are counted; `onBytes` may pause and resume it. */
  async function openCounted(onBytes: (stream: Stream, bytes: number) => void): Promise<{ stream: Stream; answers: () => number; failed: () => number; ended: Promise<void> }> {
    const stream = await toAgent.newStream(RPC_PROTOCOL, { runOnLimitedConnection: true })
    const decoder = new MessageDecoder(1024 * 1024)
    let answers = 0
    let failed = 0
    const ended = new Promise<void>((resolve, reject) => {
      stream.addEventListener('close', (evt) => {
        const error = (evt as Event & { error?: Error }).error
        if (error === undefined) resolve()
        else reject(error)
      })
    })
    ended.catch(() => {})
    stream.addEventListener('message', (evt) => {
      decoder.push(evt.data)
      for (let value = decoder.next(); value !== NEED_MORE; value = decoder.next()) {
        answers++
        if ((value as { type: string }).type !== 'res') failed++
      }
      onBytes(stream, evt.data.byteLength)
    })
    return { stream, answers: () => answers, failed: () => failed, ended }
  }

  /** Send requests `from..to`, waiting for drains as a well-behaved sender does. */
  async function sendRequests(stream: Stream, from: number, to: number, cmd = '/echo'): Promise<void> {
    for (let id = from; id <= to; id++) {
      if (!stream.send(request(id, cmd))) await drained(stream)
    }
  }

  async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
    const end = Date.now() + ms
    while (!check()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  it('gets every answer of 300 pipelined calls read in bursts, and the agent stays paused at yamux while it waits (threat: a read buffer that overflows and resets every call on the stream)', async () => {
    // 35 MiB of answers, read 512 KiB at a time with 30 ms gaps: the requests that wait while the
    // agent is paused answer twice their size, so they fill its backlog again as soon as it resumes
    const calls = 300
    let burst = 0
    const counted = await openCounted((stream, bytes) => {
      burst += bytes
      if (burst < 512 * 1024) return
      burst = 0
      stream.pause()
      setTimeout(() => {
        if (stream.status === 'open') stream.resume()
      }, 30)
    })
    // the agent's end must never be paused for reading while its yamux was told to grant window
    // again: look at every turn of the event loop
    let violations = 0
    let watching = true
    const look = (): void => {
      for (const [stream, signal] of signals.last) {
        if (stream.status === 'open' && stream.readStatus === 'paused' && signal === 'resume') violations++
      }
      if (watching) setImmediate(look)
    }
    look()
    try {
      await sendRequests(counted.stream, 1, calls, '/twice')
      await until('every answer', () => counted.answers() === calls || counted.stream.status !== 'open')
    } finally {
      watching = false
    }
    assert.equal(counted.stream.status, 'open', 'the stream was not reset')
    assert.equal(counted.answers(), calls)
    assert.equal(counted.failed(), 0, 'every answer is a result')
    assert.equal(violations, 0, 'turns where the agent read nothing while yamux granted the caller window')
    counted.stream.abort(new Error('done'))
  })

  it('is never sent more than its read buffer holds when it pauses after a fast transfer (threat: a caller reset by its own full read buffer)', async () => {
    const counted = await openCounted(() => {})
    // read fast first: yamux grows the stream's window as far as it may go
    await sendRequests(counted.stream, 1, 300)
    await until('the fast answers', () => counted.answers() === 300)
    // then stop reading while 100 more answers (6 MiB) come: the agent must hold them back
    counted.stream.pause()
    await sendRequests(counted.stream, 301, 400)
    await new Promise((resolve) => setTimeout(resolve, 500))
    assert.equal(counted.stream.status, 'open', 'the paused stream was not reset')
    assert.ok(counted.stream.readBufferLength <= 4 * 1024 * 1024, `${counted.stream.readBufferLength} bytes wait unread`)
    counted.stream.resume()
    await until('the held-back answers', () => counted.answers() === 400 || counted.stream.status !== 'open')
    assert.equal(counted.answers(), 400)
    assert.equal(counted.failed(), 0)
    counted.stream.abort(new Error('done'))
  })
})

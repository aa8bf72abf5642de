import assert from 'node:assert/strict'
import { YamuxStream } from '@chainsafe/libp2p-yamux/stream'
import { MessageDecoder, NEED_MORE } from '../../src/rpc/codec.ts'
import { drained } from '../../src/rpc/drain.ts'
import { encodeMessage, RPC_PROTOCOL } from '../../src/rpc/index.ts'
import { type Mesh, startMesh } from '../fixtures/mesh.ts'
import { waitFor } from '../fixtures/wait.ts'
import type { Connection, Stream } from '@libp2p/interface'

/** 60 KiB of args: echoed back, 70 answers fill the agent's 4 MiB backlog; `/fourfold` answers 240 KiB. */
const ARGS = new Uint8Array(60 * 1024).fill(7)

/** Answer of `/big`: more than the agent's 4 MiB backlog, and two are more than that and a window. */
const BIG_ANSWER_BYTES = 5_000_000

/** What the agent's end of an RPC stream told its transport (yamux: stop or start granting window). */
interface Signal {
  stream: Stream
  signal: 'pause' | 'resume'
  /** The turn of the event loop it came in. */
  turn: number
}

/** Records the transport signals of every inbound RPC stream of this process (the agent's ends). */
function watchTransportSignals(): { last: Map<Stream, 'pause' | 'resume'>; log: Signal[]; restore: () => void } {
  const proto = YamuxStream.prototype as unknown as { sendPause(): void; sendResume(): void }
  const { sendPause, sendResume } = proto
  const last = new Map<Stream, 'pause' | 'resume'>()
  const log: Signal[] = []
  let turn = 0
  let ticking = true
  const tick = (): void => {
    turn++
    if (ticking) setImmediate(tick)
  }
  tick()
  const record = (stream: Stream, signal: 'pause' | 'resume'): void => {
    if (stream.direction !== 'inbound' || stream.protocol !== RPC_PROTOCOL) return
    last.set(stream, signal)
    log.push({ stream, signal, turn })
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
    log,
    restore: () => {
      ticking = false
      proto.sendPause = sendPause
      proto.sendResume = sendResume
    }
  }
}

/** Times a stream was paused again in the same turn its transport was told to send again. */
function pausedRightAfterResume(log: Signal[]): number {
  let count = 0
  for (let i = 1; i < log.length; i++) {
    const before = log[i - 1]!
    const now = log[i]!
    if (before.stream === now.stream && before.signal === 'resume' && now.signal === 'pause' && before.turn === now.turn) count++
  }
  return count
}

describe('a caller that reads its answers slowly is held back, not reset', function () {
  this.timeout(30_000)
  let mesh: Mesh
  let toAgent: Connection
  let signals: ReturnType<typeof watchTransportSignals>

  before(async () => {
    mesh = await startMesh({ name: 'acme/prod/target' })
    mesh.agent.handle('/echo', (args: unknown) => args)
    mesh.agent.handle('/fourfold', (args: unknown) => [args, args, args, args])
    assert.equal(await mesh.caller.call('acme/prod/target', '/echo', 'warm'), 'warm')
    mesh.agent.handle('/big', () => new Uint8Array(BIG_ANSWER_BYTES))
    toAgent = mesh.caller.node.getConnections(mesh.agent.node.peerId)[0]!
    // yamux grows a stream's window only once it knows the round trip: its first ping, 100 ms in
    const rtt = (connection: Connection | undefined): number =>
      (connection as unknown as { muxer?: { getRTT(): number } } | undefined)?.muxer?.getRTT() ?? -1
    const fromAgent = mesh.agent.node.getConnections(mesh.caller.node.peerId)[0]
    await waitFor('both ends to know the round trip', () => rtt(toAgent) > -1 && rtt(fromAgent) > -1, 20_000)
    // yamux doubles a stream's window when its reader asks for more within four round trips; on
    // loopback that is a millisecond or so and a busy machine misses it. As on a long link, take the
    // round trip as 1 s, so that streams reach their largest window within their first megabytes
    const muxers = [toAgent, fromAgent].map((connection) => (connection as unknown as { muxer: { rtt: number } }).muxer)
    for (const muxer of muxers) muxer.rtt = 1000
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
    const decoder = new MessageDecoder(8 * 1024 * 1024)
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
      try {
        for (let value = decoder.next(); value !== NEED_MORE; value = decoder.next()) {
          answers++
          if ((value as { type: string }).type !== 'res') failed++
        }
      } catch (err) {
        stream.abort(err as Error)
        return
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

  it('gets every answer of 150 pipelined calls read in bursts, and the agent stays paused at yamux while it waits (threat: a read buffer that overflows and resets every call on the stream)', async () => {
    // 35 MiB of answers, read 512 KiB at a time with 30 ms gaps: the requests that wait while the
    // agent is paused answer four times their size, so they fill its backlog again as soon as it resumes
    const calls = 150
    let burst = 0
    const logged = signals.log.length
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
      await sendRequests(counted.stream, 1, calls, '/fourfold')
      await waitFor('every answer', () => counted.answers() === calls || counted.stream.status !== 'open', 20_000)
    } finally {
      watching = false
    }
    assert.equal(counted.stream.status, 'open', 'the stream was not reset')
    assert.equal(counted.answers(), calls)
    assert.equal(counted.failed(), 0, 'every answer is a result')
    assert.equal(violations, 0, 'turns where the agent read nothing while yamux granted the caller window')
    assert.ok(pausedRightAfterResume(signals.log.slice(logged)) > 0, 'the requests handed over at a resume filled the backlog again (the case under test)')
    counted.stream.abort(new Error('done'))
  })

  it('is never sent more than its read buffer holds when it pauses after a fast transfer (threat: a caller reset by its own full read buffer)', async () => {
    const counted = await openCounted(() => {})
    // read fast first: yamux grows the stream's window as far as it may go (see before())
    await sendRequests(counted.stream, 1, 300)
    await waitFor('the fast answers', () => counted.answers() === 300, 20_000)
    // then stop reading while 100 more answers (6 MiB) come: the agent must hold them back
    counted.stream.pause()
    await sendRequests(counted.stream, 301, 400)
    await new Promise((resolve) => setTimeout(resolve, 500))
    assert.equal(counted.stream.status, 'open', 'the paused stream was not reset')
    assert.ok(counted.stream.readBufferLength <= 4 * 1024 * 1024, `${counted.stream.readBufferLength} bytes wait unread`)
    counted.stream.resume()
    await waitFor('the held-back answers', () => counted.answers() === 400 || counted.stream.status !== 'open', 20_000)
    assert.equal(counted.answers(), 400)
    assert.equal(counted.failed(), 0)
    counted.stream.abort(new Error('done'))
  })

  it('keeps serving when a held-back caller ends its requests, and answers them all (threat: a caller crashing the agent with a half-close)', async () => {
    // an agent process ends on an unhandled rejection (Node's default); the test runner only reports it
    const rejections: unknown[] = []
    const onRejection = (reason: unknown): void => {
      rejections.push(reason)
    }
    process.on('unhandledRejection', onRejection)
    after(() => process.off('unhandledRejection', onRejection))
    const counted = await openCounted(() => {})
    counted.stream.pause()
    // answers of 5 MB: more than the backlog, so the agent stops reading
    await sendRequests(counted.stream, 1, 2, '/big')
    const agentEnd = (): Stream | undefined =>
      [...signals.last].find(([stream, signal]) => stream.status === 'open' && signal === 'pause')?.[0]
    await waitFor('the agent to hold the caller back', () => agentEnd() !== undefined, 20_000)
    const held = agentEnd()!
    // two more wait in the agent's paused stream, then the caller is done sending
    await sendRequests(counted.stream, 3, 4, '/big')
    const closed = counted.stream.close()
    await waitFor('the end of requests to reach the agent', () => held.remoteWriteStatus === 'closed', 20_000)
    assert.equal(held.readStatus, 'paused', 'the last requests wait in the paused stream')
    // reading again drains the agent, which resumes, finds the caller's end of requests behind
    // the last two, and their answers are over the backlog again
    counted.stream.resume()
    await waitFor('all four answers', () => counted.answers() === 4 || counted.stream.status !== 'open', 20_000)
    assert.equal(counted.answers(), 4)
    assert.equal(counted.failed(), 0)
    await closed
    await counted.ended
    assert.equal(await mesh.caller.call('acme/prod/target', '/echo', 'still here'), 'still here')
    assert.deepEqual(rejections.map(String), [], 'nothing the agent did was left unhandled')
  })
})

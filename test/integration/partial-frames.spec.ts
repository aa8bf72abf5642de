import assert from 'node:assert/strict'
import { MessageDecoder, NEED_MORE } from '../../src/rpc/codec.ts'
import { RPC_PROTOCOL } from '../../src/rpc/index.ts'
import { varintLength, writeVarint } from '../../src/rpc/varint.ts'
import { type Mesh, startMesh } from '../fixtures/mesh.ts'
import { waitFor } from '../fixtures/wait.ts'
import type { Agent } from '../../src/index.ts'
import type { Connection, Stream } from '@libp2p/interface'

const KiB = 1024
const FRAME = 256 * KiB
const BUDGET = 3 * FRAME
const STALL_MS = 1_500

/** The varint length prefix of a frame of `n` bytes. */
function prefix(n: number): Uint8Array {
  const out = new Uint8Array(varintLength(n))
  writeVarint(out, 0, n)
  return out
}

/** The codes of the error frames the agent sent, and whether the stream ended with a reset. */
interface Outcome {
  codes: string[]
  reset: boolean
}

/** The `code` of every frame in `chunks` (the agent's answers). */
function codesOf(chunks: Uint8Array[]): string[] {
  const decoder = new MessageDecoder()
  for (const chunk of chunks) decoder.push(chunk)
  const codes: string[] = []
  for (let value = decoder.next(); value !== NEED_MORE; value = decoder.next()) codes.push(String((value as { code?: unknown }).code))
  return codes
}

/**
 * Open an RPC stream and send the prefix of a frame of `size` bytes, then all of its body but the
 * last byte; never finish it. Resolves once the bytes have left; `outcome` when the stream ends.
 */
async function partialFrame(connection: Connection, size: number): Promise<{ stream: Stream; outcome: Promise<Outcome> }> {
  const stream = await connection.newStream(RPC_PROTOCOL, { runOnLimitedConnection: true })
  const chunks: Uint8Array[] = []
  stream.addEventListener('message', (evt) => {
    chunks.push(evt.data.subarray())
  })
  const outcome = new Promise<Outcome>((resolve) => {
    stream.addEventListener(
      'close',
      (evt) => resolve({ codes: codesOf(chunks), reset: (evt as Event & { error?: Error }).error !== undefined }),
      { once: true }
    )
  })
  stream.send(prefix(size))
  const body = new Uint8Array(size - 1).fill(0x41)
  // the agent may refuse and reset the stream while the body is still on its way: stop sending then
  for (let at = 0; at < body.byteLength && stream.status === 'open'; at += 16 * KiB) {
    if (!stream.send(body.subarray(at, at + 16 * KiB))) {
      await new Promise((resolve) => {
        stream.addEventListener('drain', resolve, { once: true })
        stream.addEventListener('close', resolve, { once: true })
      })
    }
  }
  await waitFor('the partial frame to leave', () => stream.writeBufferLength === 0 || stream.status !== 'open')
  return { stream, outcome }
}

/** `promise`, or a failure naming `what` after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)
  })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

// Count the bytes the agent's own decoders hold: every MessageDecoder of the process is watched, and
// the callers here read nothing through one while the bytes are measured.
const decoders = new Set<MessageDecoder>()
const push = MessageDecoder.prototype.push
function heldByDecoders(): number {
  let n = 0
  for (const d of decoders) n += d.buffered
  return n
}

describe('frames not yet whole: a caller cannot make the agent hold memory by never finishing them', function () {
  this.timeout(60_000)
  let mesh: Mesh
  let strangers: Agent[] = []

  before(async () => {
    MessageDecoder.prototype.push = function (this: MessageDecoder, chunk) {
      decoders.add(this)
      push.call(this, chunk)
    }
    mesh = await startMesh({
      name: 'acme/prod/target',
      agent: { limits: { maxFrameBytes: FRAME, maxBufferedBytes: BUDGET, frameStallMs: STALL_MS } }
    })
    mesh.agent.handle('/echo', (args: unknown) => args)
    assert.equal(await mesh.caller.call('acme/prod/target', '/echo', 'warm'), 'warm')
  })

  after(async () => {
    MessageDecoder.prototype.push = push
    await Promise.allSettled(strangers.map((s) => s.stop()))
    await mesh.stop()
  })

  /** A caller with a fresh identity and no capability, connected to the agent. */
  async function stranger(): Promise<Connection> {
    const s = await mesh.newCaller()
    strangers.push(s)
    await s.call('acme/prod/target', '/echo', 'x').catch(() => {}) // denied: it holds no capability
    const connection = s.node.getConnections(mesh.agent.node.peerId)[0]
    assert.ok(connection !== undefined, 'the stranger reached the agent')
    return connection
  }

  afterEach(async () => {
    await Promise.allSettled(strangers.map((s) => s.stop()))
    strangers = []
    await waitFor('the agent to free what the strangers sent', () => heldByDecoders() === 0)
  })

  it('a caller with no capability holds two frames at most: its third unfinished frame is refused and reset', async () => {
    const connection = await stranger()
    const first = await partialFrame(connection, FRAME - KiB)
    const second = await partialFrame(connection, FRAME - KiB)
    const third = await partialFrame(connection, FRAME - KiB)
    const ended = await within(third.outcome, 5_000, 'the stream over the budget ends')
    assert.ok(ended.reset, 'the stream over the budget was reset')
    assert.deepEqual(ended.codes, ['RESOURCE_EXHAUSTED'], 'an error frame came first')
    assert.equal(first.stream.status, 'open', 'the frames within the budget are still being read')
    assert.equal(second.stream.status, 'open', 'the frames within the budget are still being read')
    assert.ok(heldByDecoders() <= 2 * FRAME, `the agent holds ${heldByDecoders()} bytes for the stranger`)
    assert.equal(await mesh.caller.call('acme/prod/target', '/echo', 'still here'), 'still here')
  })

  it('many callers with no capability cannot make the agent hold more than its budget in all', async () => {
    const connections: Connection[] = []
    for (let i = 0; i < 5; i++) connections.push(await stranger())
    // sent one after the other, well within the stall time of the first
    const outcomes: Array<Promise<Outcome>> = []
    for (const connection of connections) outcomes.push((await partialFrame(connection, FRAME - KiB)).outcome)
    assert.ok(heldByDecoders() <= BUDGET, `the agent holds ${heldByDecoders()} bytes, over its budget of ${BUDGET}`)
    // three frames fit the budget (they end later, when they stall); the two past it were refused at once
    const ended = await within(Promise.all(outcomes), 10_000, 'every stream ends')
    const codes = ended.map((e) => e.codes.join())
    assert.deepEqual(codes.slice(3), ['RESOURCE_EXHAUSTED', 'RESOURCE_EXHAUSTED'], codes.join('; '))
    assert.deepEqual(codes.slice(0, 3), ['DEADLINE_EXCEEDED', 'DEADLINE_EXCEEDED', 'DEADLINE_EXCEEDED'], codes.join('; '))
    assert.ok(ended.every((e) => e.reset), 'every stream was reset')
    assert.equal(await mesh.caller.call('acme/prod/target', '/echo', 'still here'), 'still here')
  })

  it('a caller that goes silent in the middle of a frame has its stream reset and the bytes freed', async () => {
    const { outcome } = await partialFrame(await stranger(), FRAME - KiB)
    assert.ok(heldByDecoders() > FRAME / 2, 'the agent holds the frame while it may still come')
    const started = Date.now()
    const ended = await within(outcome, 10_000, 'the silent stream ends')
    assert.ok(ended.reset, 'the silent stream was reset')
    assert.deepEqual(ended.codes, ['DEADLINE_EXCEEDED'], 'an error frame came first')
    assert.ok(Date.now() - started >= STALL_MS / 2, 'not before the frame stalled')
    await waitFor('the bytes to be freed', () => heldByDecoders() === 0)
  })

  it('a frame that keeps arriving slowly is not cut off, however long it takes', async () => {
    const stream = await mesh.caller.node
      .getConnections(mesh.agent.node.peerId)[0]!
      .newStream(RPC_PROTOCOL, { runOnLimitedConnection: true })
    const chunks: Uint8Array[] = []
    stream.addEventListener('message', (evt) => chunks.push(evt.data.subarray()))
    // a byte string of 7 bytes: well-formed DAG-CBOR, but not a frame
    const body = new Uint8Array([0x47, ...new Uint8Array(7).fill(0x41)])
    stream.send(prefix(body.byteLength))
    // one byte every STALL_MS / 4: the frame takes two stall periods to arrive
    for (let i = 0; i < body.byteLength; i++) {
      stream.send(body.subarray(i, i + 1))
      await new Promise((resolve) => setTimeout(resolve, STALL_MS / 4))
    }
    await waitFor('the answer', () => codesOf(chunks).length > 0)
    assert.deepEqual(codesOf(chunks), ['INVALID_ARGUMENT'], 'the whole frame was read and answered, not cut off')
    stream.abort(new Error('done'))
  })
})

describe('frames not yet whole: the budget leaves room for large calls arriving side by side', function () {
  this.timeout(60_000)
  const LARGE = 8 * 1024 * KiB
  let mesh: Mesh

  before(async () => {
    mesh = await startMesh({ name: 'acme/prod/big', agent: { limits: { maxFrameBytes: LARGE + 64 * KiB } } })
    mesh.agent.handle('/size', (args: { blob: Uint8Array }) => args.blob.byteLength)
    assert.equal(await mesh.caller.call('acme/prod/big', '/size', { blob: new Uint8Array(1) }), 1)
  })

  after(async () => {
    await mesh.stop()
  })

  it('two calls of one caller with args of nearly the largest frame both run (their frames overlap on the way)', async () => {
    // each large request takes a stream of its own, and yamux windows interleave the two
    const blob = new Uint8Array(LARGE - KiB).fill(7)
    const sizes = await Promise.all([0, 1].map(() => mesh.caller.call('acme/prod/big', '/size', { blob }, { timeout: 30_000 })))
    assert.deepEqual(sizes, [blob.byteLength, blob.byteLength])
  })
})

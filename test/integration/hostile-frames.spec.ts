import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { multiaddr } from '@multiformats/multiaddr'
import { pipe } from 'it-pipe'
import { DIRECTORY_PROTOCOL } from '../../src/names/index.ts'
import { decodeMessages, encodeMessage, RPC_PROTOCOL } from '../../src/rpc/index.ts'
import { type Mesh, startMesh } from '../fixtures/mesh.ts'
import type { Connection, Stream } from '@libp2p/interface'

/** Send raw bytes on a fresh stream and collect what comes back until the stream ends or resets. */
async function sendRaw(connection: Connection, protocol: string, chunks: Uint8Array[]): Promise<unknown[]> {
  const stream: Stream = await connection.newStream(protocol, { runOnLimitedConnection: true })
  for (const chunk of chunks) stream.send(chunk)
  await stream.close() // half-close: we send nothing more, the answer can still arrive
  const answers: unknown[] = []
  try {
    for await (const value of pipe(stream, decodeMessages())) answers.push(value)
  } catch {
    // a reset or a truncated answer is an acceptable end; the test checks the agent survives
  }
  stream.abort(new Error('done'))
  return answers
}

describe('hostile bytes on real streams get a typed error and nothing else breaks', () => {
  let mesh: Mesh
  let toAgent: Connection
  let toRelay: Connection

  before(async () => {
    mesh = await startMesh({ name: 'acme/prod/target' })
    mesh.agent.handle('/echo', (args: unknown) => args)
    assert.equal(await mesh.caller.call('acme/prod/target', '/echo', 'warm'), 'warm')
    toAgent = mesh.caller.node.getConnections(mesh.agent.node.peerId)[0]!
    toRelay = await mesh.caller.node.dial(multiaddr(mesh.relay.addrs[0]!))
  })

  after(async () => {
    await mesh.stop()
  })

  /** The caller's real capability, presented by reference plus token, as the library does. */
  function auth(): unknown {
    return { prf: [mesh.grant.cid], dlg: [mesh.grant.bytes] }
  }

  async function stillServes(): Promise<void> {
    assert.equal(await mesh.caller.call('acme/prod/target', '/echo', 'still here'), 'still here')
    assert.equal(toAgent.status, 'open', 'the connection survived')
  }

  it('answers random bytes on /agentmesh/rpc/1 with an error frame or a reset, and keeps serving', async () => {
    for (let i = 0; i < 20; i++) {
      const answers = await sendRaw(toAgent, RPC_PROTOCOL, [randomBytes(1 + ((i * 37) % 300))])
      for (const a of answers) assert.equal((a as { type: string }).type, 'err')
    }
    await stillServes()
  })

  it('answers a 4 GiB length prefix with RESOURCE_EXHAUSTED without allocating it', async () => {
    const answers = await sendRaw(toAgent, RPC_PROTOCOL, [Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f)])
    assert.equal((answers[0] as { code: string }).code, 'RESOURCE_EXHAUSTED')
    await stillServes()
  })

  it('answers a well-formed CBOR value of the wrong shape with INVALID_ARGUMENT for that call only', async () => {
    const answers = await sendRaw(toAgent, RPC_PROTOCOL, [
      encodeMessage({ v: 1, type: 'req', id: 5, cmd: 42, args: null, timeout: 1000 }),
      encodeMessage({ v: 1, type: 'req', id: 6, cmd: '/echo', args: 'ok', timeout: 1000, auth: auth() })
    ])
    const byId = new Map(answers.map((a) => [(a as { id: number }).id, a as Record<string, unknown>]))
    assert.equal(byId.get(5)?.code, 'INVALID_ARGUMENT')
    assert.equal(byId.get(6)?.result, 'ok', 'the good request on the same stream is still answered')
  })

  it('answers a request split byte by byte', async () => {
    const bytes = encodeMessage({ v: 1, type: 'req', id: 9, cmd: '/echo', args: 'bytewise', timeout: 2000, auth: auth() })
    const answers = await sendRaw(
      toAgent,
      RPC_PROTOCOL,
      Array.from(bytes, (b) => Uint8Array.of(b))
    )
    assert.equal((answers[0] as { result: unknown }).result, 'bytewise')
  })

  it('stops reading a caller that does not read its answers: about 4 MiB of answers wait, not 17 MiB (memory exhaustion)', async () => {
    let answered = 0
    mesh.agent.handle('/count', (args: unknown) => {
      answered++
      return args
    })
    const stream = await toAgent.newStream(RPC_PROTOCOL, { runOnLimitedConnection: true })
    // a caller that never reads: it grants the agent no more yamux window than the first
    stream.pause()
    const args = new Uint8Array(60 * 1024).fill(1)
    const calls = 300 // 300 answers of 60 KiB: about 17.6 MiB if the agent kept answering
    for (let id = 1; id <= calls; id++) {
      stream.send(encodeMessage({ v: 1, type: 'req', id, cmd: '/count', args, timeout: 30_000, auth: auth() }))
    }
    // settled: no new answer over 5 checks in a row (a busy host can stall the agent for 100 ms
    // while requests still arrive; one quiet check ended the wait at 28 answers on CI)
    let before = -1
    let quiet = 0
    for (let i = 0; i < 100 && quiet < 5; i++) {
      quiet = answered === before ? quiet + 1 : 0
      before = answered
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    // 4 MiB of 60 KiB answers is about 70; the calls already admitted when the agent paused add a few
    assert.ok(answered >= 40, `the agent answered until its backlog filled (${answered} calls)`)
    assert.ok(answered <= 150, `the agent stopped taking requests it could not deliver (${answered} of ${calls} answered)`)
    await stillServes()
    stream.abort(new Error('done'))
  })

  it('answers garbage on /agentmesh/dir/1 with an error and the relay keeps resolving', async () => {
    for (const garbage of [
      randomBytes(64),
      Uint8Array.of(0xff, 0xff, 0xff, 0x7f),
      encodeMessage({ v: 1, type: 'x' })
    ]) {
      const answers = await sendRaw(toRelay, DIRECTORY_PROTOCOL, [garbage])
      for (const a of answers) assert.equal((a as { type: string }).type, 'err')
    }
    mesh.caller.node.getConnections(mesh.agent.node.peerId).forEach((c) => {
      c.abort(new Error('force a fresh resolve and dial'))
    })
    await stillServesAfterRedial()
  })

  async function stillServesAfterRedial(): Promise<void> {
    assert.equal(await mesh.caller.call('acme/prod/target', '/echo', 'again'), 'again')
  }
})

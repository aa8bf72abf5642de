import assert from 'node:assert/strict'
import { defineIntent } from '../../src/index.ts'
import { type Mesh, rejectsWithCode, sleep, startMesh } from '../fixtures/mesh.ts'

describe('call lifecycle: cancellation, deadlines, stopping, idempotency and limits (through a relay)', () => {
  let mesh: Mesh
  const abortedAt = new Map<string, number>()
  let runs = 0
  const holds: Array<() => void> = []

  before(async () => {
    mesh = await startMesh({
      name: 'acme/prod/life',
      agent: { limits: { maxCallsPerCaller: 8, maxFrameBytes: 256 * 1024 } }
    })
    mesh.agent
      .handle('/wait', async (args: { ms: number; tag: string }, ctx) => {
        ctx.signal.addEventListener('abort', () => abortedAt.set(args.tag, Date.now()), { once: true })
        await sleep(args.ms)
        return 'late'
      })
      .handle('/once', async (args: { ms: number }) => {
        runs++
        await sleep(args.ms)
        return { run: runs }
      })
      .handle('/hold', () => new Promise<string>((resolve) => holds.push(() => resolve('released'))))
      .handle('/echo', (args: unknown) => args)
  })

  after(async () => {
    await mesh.stop()
  })

  it("fires the handler's signal within 50 ms of the caller aborting", async () => {
    const controller = new AbortController()
    const call = mesh.caller.call('acme/prod/life', '/wait', { ms: 3000, tag: 'abort' }, { signal: controller.signal })
    await sleep(300)
    const abortTime = Date.now()
    controller.abort()
    await rejectsWithCode(call, 'CANCELLED')
    for (let i = 0; i < 20 && !abortedAt.has('abort'); i++) await sleep(10)
    const delay = (abortedAt.get('abort') ?? Number.POSITIVE_INFINITY) - abortTime
    assert.ok(delay <= 50, `handler signal fired ${delay} ms after the abort`)
  })

  it('never delivers a result after the deadline: the caller gets DEADLINE_EXCEEDED and the handler is aborted', async () => {
    await rejectsWithCode(mesh.caller.call('acme/prod/life', '/wait', { ms: 600, tag: 'dl' }, { timeout: 200 }), 'DEADLINE_EXCEEDED')
    await sleep(700)
    assert.ok(abortedAt.has('dl'))
  })

  it('runs an intent once for two calls with the same idempotency key, and returns the first result to both', async () => {
    runs = 0
    const first = mesh.caller.call('acme/prod/life', '/once', { ms: 200 }, { idempotencyKey: 'k-1' })
    const concurrentRetry = mesh.caller.call('acme/prod/life', '/once', { ms: 200 }, { idempotencyKey: 'k-1' })
    assert.deepEqual(await first, { run: 1 })
    assert.deepEqual(await concurrentRetry, { run: 1 })
    // a retry carries the same arguments: a key reused with other arguments is refused (idempotency.spec.ts)
    assert.deepEqual(await mesh.caller.call('acme/prod/life', '/once', { ms: 200 }, { idempotencyKey: 'k-1' }), { run: 1 })
    assert.equal(runs, 1)
    assert.deepEqual(await mesh.caller.call('acme/prod/life', '/once', { ms: 1 }, { idempotencyKey: 'k-2' }), { run: 2 })
  })

  it('refuses a message over the frame limit with RESOURCE_EXHAUSTED, and the connection keeps working', async () => {
    const tooBig = new Uint8Array(300 * 1024)
    await rejectsWithCode(mesh.caller.call('acme/prod/life', '/echo', tooBig), 'RESOURCE_EXHAUSTED')
    const connection = mesh.caller.node.getConnections(mesh.agent.node.peerId)[0]
    assert.equal(connection?.status, 'open')
    assert.equal(await mesh.caller.call('acme/prod/life', '/echo', 'fine'), 'fine')
  })

  it('refuses calls past the per-caller limit at once with RESOURCE_EXHAUSTED, not by queueing', async () => {
    const held = Array.from({ length: 8 }, () => mesh.caller.call('acme/prod/life', '/hold', null))
    await sleep(300)
    const started = Date.now()
    await rejectsWithCode(mesh.caller.call('acme/prod/life', '/echo', 1), 'RESOURCE_EXHAUSTED')
    assert.ok(Date.now() - started < 1000, 'refused fast')
    for (const release of holds.splice(0)) release()
    assert.deepEqual(await Promise.all(held), Array(8).fill('released'))
  })

  it('refuses calls past the agent-wide in-flight cap at once, whoever calls, and serves again after', async () => {
    const capped = await startMesh({ name: 'acme/prod/capped', agent: { limits: { maxInflight: 4 } } })
    const waiting: Array<() => void> = []
    capped.agent.handle('/hold', () => new Promise<string>((resolve) => waiting.push(() => resolve('done'))))
    capped.agent.handle('/echo', (args: unknown) => args)
    const second = await capped.newCaller({ identity: capped.callerKey, proofs: [capped.grant] })
    try {
      const held = [
        ...Array.from({ length: 2 }, () => capped.caller.call('acme/prod/capped', '/hold', null)),
        ...Array.from({ length: 2 }, () => second.call('acme/prod/capped', '/hold', null))
      ]
      for (let i = 0; i < 50 && waiting.length < 4; i++) await sleep(20)
      const started = Date.now()
      await rejectsWithCode(second.call('acme/prod/capped', '/echo', 1), 'RESOURCE_EXHAUSTED')
      assert.ok(Date.now() - started < 1000, 'refused fast, not queued')
      for (const release of waiting.splice(0)) release()
      await Promise.all(held)
      assert.equal(await second.call('acme/prod/capped', '/echo', 2), 2)
    } finally {
      await second.stop()
      await capped.stop()
    }
  })

  it('fails calls in flight with UNAVAILABLE when the agent stops', async () => {
    const edge = await startMesh({ name: 'acme/prod/stopping' })
    try {
      edge.agent.handle('/forever', (_args, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))))
      const call = edge.caller.call('acme/prod/stopping', '/forever', null, { timeout: 10_000 })
      await sleep(300)
      await edge.agent.stop()
      await rejectsWithCode(call, 'UNAVAILABLE')
    } finally {
      await edge.stop()
    }
  })

  it('completes 1,000 concurrent calls from 10 callers with correct results and leaks no stream', async () => {
    const many = await startMesh({ name: 'acme/prod/life' })
    many.agent.handle('/echo', (args: unknown) => args)
    const mesh = many
    const callers = await Promise.all(
      Array.from({ length: 10 }, () => mesh.newCaller())
    )
    try {
      // each caller gets its own delegation from the authority
      const { delegate } = await import('../../src/ucan/index.ts')
      for (const c of callers) {
        c.addProofs([
          await delegate({
            issuer: mesh.authority,
            audience: c.did,
            subject: mesh.authority.did,
            command: '/echo',
            expiration: Math.floor(Date.now() / 1000) + 600
          })
        ])
      }
      const results = await Promise.all(
        callers.flatMap((c, ci) =>
          Array.from({ length: 100 }, (_, i) => c.call('acme/prod/life', '/echo', { ci, i }, { timeout: 60_000 }))
        )
      )
      results.forEach((r, n) => {
        assert.deepEqual(r, { ci: Math.floor(n / 100), i: n % 100 })
      })
      // small calls share one long-lived stream per connection (opened once, reused): after 100
      // concurrent calls per caller, each connection holds that one stream and nothing else
      const rpcStreamsPerConnection = (): number[] =>
        [...callers.map((c) => c.node), mesh.agent.node]
          .flatMap((n) => n.getConnections())
          .map((conn) => conn.streams.filter((s) => s.protocol === '/agentmesh/rpc/1').length)
      for (let i = 0; i < 50 && rpcStreamsPerConnection().some((n) => n > 1); i++) await sleep(100)
      assert.ok(rpcStreamsPerConnection().every((n) => n <= 1), `rpc streams per connection: ${rpcStreamsPerConnection()}`)
      assert.equal(many.agent.node.getConnections().length, 11, '10 callers and the relay: one connection each')
    } finally {
      await Promise.all(callers.map((c) => c.stop()))
      await many.stop()
    }
  })
})

describe('defineIntent', () => {
  it('refuses a command that is not lowercase /-segmented', () => {
    assert.throws(() => defineIntent({ cmd: 'k8s/scale' }), { code: 'INVALID_ARGUMENT' })
    assert.throws(() => defineIntent({ cmd: '/K8s' }), { code: 'INVALID_ARGUMENT' })
    assert.throws(() => defineIntent({ cmd: '/k8s//scale' }), { code: 'INVALID_ARGUMENT' })
  })
})

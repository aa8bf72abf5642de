import assert from 'node:assert/strict'
import { type Mesh, rejectsWithCode, sleep, startMesh } from '../fixtures/mesh.ts'

describe('deadlines and cancellation over a relayed connection', () => {
  let mesh: Mesh
  const aborted: string[] = []

  before(async () => {
    mesh = await startMesh({ name: 'acme/prod/slow' })
    mesh.agent
      .handle('/sleep', async (args: { ms: number; tag: string }, ctx) => {
        ctx.signal.addEventListener('abort', () => aborted.push(args.tag), { once: true })
        await sleep(args.ms)
        return 'finished'
      })
      .handle('/ping', () => 'pong')
  })

  after(async () => {
    await mesh.stop()
  })

  it('fails with DEADLINE_EXCEEDED when the agent is slower than the deadline, and aborts the handler', async () => {
    const started = Date.now()
    await rejectsWithCode(
      mesh.caller.call('acme/prod/slow', '/sleep', { ms: 2000, tag: 'deadline' }, { timeout: 300 }),
      'DEADLINE_EXCEEDED'
    )
    assert.ok(Date.now() - started < 1500, 'the caller gives up at its deadline, not when the handler ends')
    await sleep(200)
    assert.ok(aborted.includes('deadline'), "the handler's signal fired")
  })

  it('fails with CANCELLED when the caller aborts, and the handler sees its signal abort', async () => {
    const controller = new AbortController()
    const call = mesh.caller.call(
      'acme/prod/slow',
      '/sleep',
      { ms: 2000, tag: 'cancel' },
      { signal: controller.signal }
    )
    await sleep(200)
    controller.abort()
    await rejectsWithCode(call, 'CANCELLED')
    await sleep(200)
    assert.ok(aborted.includes('cancel'))
  })

  it('keeps serving after calls were abandoned', async () => {
    assert.equal(await mesh.caller.call('acme/prod/slow', '/ping'), 'pong')
  })
})

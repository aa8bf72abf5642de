import assert from 'node:assert/strict'
import { z } from 'zod'
import { defineIntent, MeshError } from '../../src/index.ts'
import { type Mesh, rejectsWithCode, sleep, startMesh } from '../fixtures/mesh.ts'

const scale = defineIntent({
  cmd: '/k8s/scale',
  description: 'Scale a deployment',
  args: z.object({ namespace: z.string(), deployment: z.string(), replicas: z.number().int().min(0).max(50) }),
  result: z.object({ replicas: z.number() })
})

const rollout = defineIntent({
  cmd: '/k8s/rollout',
  description: 'Roll out a deployment, reporting each pod',
  args: z.object({ pods: z.number().int().min(1).max(20) }),
  result: z.object({ ready: z.number() }),
  progress: z.object({ pod: z.number() })
})

const broken = defineIntent({ cmd: '/k8s/broken', result: z.object({ ok: z.literal(true) }) })

describe('intent contracts, progress streams, trace context and the agent card (through a relay)', () => {
  let mesh: Mesh
  const traces: Array<string | undefined> = []

  before(async () => {
    mesh = await startMesh({ name: 'acme/prod/k8s', agent: { version: '1.2.3', description: 'k8s edge agent' } })
    mesh.agent
      .handle(scale, (args, ctx) => {
        traces.push(ctx.traceparent)
        // args is typed from the schema: args.replicas is a number
        return { replicas: args.replicas }
      })
      .handle(rollout, async (args, ctx) => {
        for (let pod = 1; pod <= args.pods; pod++) await ctx.progress({ pod })
        return { ready: args.pods }
      })
      .handle(broken, () => ({ ok: false }) as unknown as { ok: true })
  })

  after(async () => {
    await mesh.stop()
  })

  it('runs a call whose arguments match the schema, typed on both sides', async () => {
    const result = await mesh.caller.call('acme/prod/k8s', scale, { namespace: 'web', deployment: 'api', replicas: 3 })
    const replicas: number = result.replicas
    assert.equal(replicas, 3)
  })

  it('refuses arguments that do not match the schema with INVALID_ARGUMENT and the schema issues, before the handler', async () => {
    const bad = { namespace: 'web', deployment: 'api', replicas: -1 }
    const err = await rejectsWithCode(mesh.caller.call('acme/prod/k8s', scale, bad), 'INVALID_ARGUMENT')
    const issues = err.details?.issues as Array<{ path: string[]; message: string }>
    assert.deepEqual(issues[0]?.path, ['replicas'])
  })

  it('turns a result that breaks its own schema into INTERNAL (the handler is wrong, not the caller)', async () => {
    await rejectsWithCode(mesh.caller.call('acme/prod/k8s', broken, null), 'INTERNAL')
  })

  it('streams progress events in order with for await, then gives the result', async () => {
    const call = mesh.caller.stream('acme/prod/k8s', rollout, { pods: 5 })
    const seen: number[] = []
    for await (const event of call) seen.push(event.pod)
    assert.deepEqual(seen, [1, 2, 3, 4, 5])
    assert.deepEqual(await call.result, { ready: 5 })
  })

  it('ends the for await with the error when a streamed call fails', async () => {
    const call = mesh.caller.stream('acme/prod/k8s', rollout, { pods: 100 } as never)
    await assert.rejects(
      (async () => {
        for await (const _ of call) assert.fail('no progress for a refused call')
      })(),
      (err: unknown) => MeshError.is(err, 'INVALID_ARGUMENT')
    )
  })

  it('passes the W3C traceparent to the handler, and refuses a malformed one locally', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    await mesh.caller.call('acme/prod/k8s', scale, { namespace: 'a', deployment: 'b', replicas: 1 }, { traceparent })
    assert.equal(traces.at(-1), traceparent)
    await rejectsWithCode(
      mesh.caller.call('acme/prod/k8s', scale, { namespace: 'a', deployment: 'b', replicas: 1 }, { traceparent: 'x' }),
      'INVALID_ARGUMENT'
    )
  })

  it('serves an agent card with name, version and each intent with JSON Schema of args, result and progress', async () => {
    const card = await mesh.caller.card('acme/prod/k8s')
    assert.equal(card.name, 'acme/prod/k8s')
    assert.equal(card.version, '1.2.3')
    assert.equal(card.peer, mesh.agent.peerId)
    const scaleCard = card.intents.find((i) => i.cmd === '/k8s/scale')
    assert.equal(scaleCard?.description, 'Scale a deployment')
    const props = scaleCard?.args?.properties as Record<string, { type: string }>
    assert.equal(props.replicas?.type, 'integer')
    assert.deepEqual(scaleCard?.args?.required, ['namespace', 'deployment', 'replicas'])
    const rolloutCard = card.intents.find((i) => i.cmd === '/k8s/rollout')
    assert.equal((rolloutCard?.progress?.properties as Record<string, unknown>).pod !== undefined, true)
  })

  it('lets a slow handler run while other calls on the same connection complete', async () => {
    const slow = defineIntent({ cmd: '/k8s/slow' })
    mesh.agent.handle(slow, async () => {
      await sleep(500)
      return 'slow'
    })
    const started = Date.now()
    const slowCall = mesh.caller.call('acme/prod/k8s', slow, null)
    await mesh.caller.call('acme/prod/k8s', scale, { namespace: 'a', deployment: 'b', replicas: 1 })
    assert.ok(Date.now() - started < 400, 'a fast call is not stuck behind a slow one')
    assert.equal(await slowCall, 'slow')
  })
})

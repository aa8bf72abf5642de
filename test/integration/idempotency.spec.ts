import assert from 'node:assert/strict'
import { generateSigner } from '../../src/identity/index.ts'
import { delegate } from '../../src/ucan/index.ts'
import { type Mesh, nowSeconds, rejectsWithCode, sleep, startMesh } from '../fixtures/mesh.ts'

describe('idempotency keys: what a retry gets (through a relay)', function () {
  this.timeout(120_000)
  let mesh: Mesh
  let charges = 0

  before(async () => {
    mesh = await startMesh({ name: 'acme/prod/pay' })
    mesh.agent
      .handle('/charge', async (args: { ms: number; order: string }) => {
        charges++
        await sleep(args.ms)
        return { charge: charges }
      })
      .handle('/charge/careful', (args: { ms: number; order: string }, ctx) => {
        charges++
        // a handler that gives up when its call is stopped: nothing happened, a retry must run it
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => resolve({ charge: charges }), args.ms)
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(timer)
            reject(ctx.signal.reason as Error)
          })
        })
      })
      .handle('/ping', () => 'pong')
  })

  after(async () => {
    await mesh.stop()
  })

  it("keeps a caller's key when another caller, allowed only /ping, floods the agent with keyed calls", async () => {
    charges = 0
    const order = { ms: 1, order: '42' }
    assert.deepEqual(await mesh.caller.call('acme/prod/pay', '/charge', order, { idempotencyKey: 'order-42' }), { charge: 1 })
    const attackerKey = generateSigner()
    const pingOnly = await delegate({
      issuer: mesh.authority,
      audience: attackerKey.did,
      subject: mesh.authority.did,
      command: '/ping',
      policy: [],
      expiration: nowSeconds() + 3600
    })
    const attacker = await mesh.newCaller({ identity: attackerKey, proofs: [pingOnly] })
    try {
      // as many keys as the whole store once held for every caller (ten times the per-caller quota)
      const flood = 10_000
      for (let b = 0; b < flood / 200; b++) {
        await Promise.all(
          Array.from({ length: 200 }, (_, i) => attacker.call('acme/prod/pay', '/ping', null, { idempotencyKey: `junk-${b}-${i}` }))
        )
      }
    } finally {
      await attacker.stop()
    }
    const retry = await mesh.caller.call('acme/prod/pay', '/charge', order, { idempotencyKey: 'order-42' })
    assert.deepEqual(retry, { charge: 1 })
    assert.equal(charges, 1, 'the victim was charged twice for one idempotency key')
  })

  it("gives a retry the handler's result when the first attempt hit its deadline while the handler went on", async () => {
    charges = 0
    const order = { ms: 300, order: '7' }
    await rejectsWithCode(
      mesh.caller.call('acme/prod/pay', '/charge', order, { idempotencyKey: 'order-7', timeout: 100 }),
      'DEADLINE_EXCEEDED'
    )
    await sleep(400)
    const retry = await mesh.caller.call('acme/prod/pay', '/charge', order, { idempotencyKey: 'order-7', timeout: 5000 })
    assert.deepEqual(retry, { charge: 1 })
    assert.equal(charges, 1)
  })

  it('makes a retry that comes while the handler still runs wait for its outcome, after the first attempt was cancelled', async () => {
    charges = 0
    const order = { ms: 400, order: '8' }
    const controller = new AbortController()
    const first = mesh.caller.call('acme/prod/pay', '/charge', order, { idempotencyKey: 'order-8', signal: controller.signal })
    await sleep(100)
    controller.abort()
    await rejectsWithCode(first, 'CANCELLED')
    const retry = await mesh.caller.call('acme/prod/pay', '/charge', order, { idempotencyKey: 'order-8', timeout: 5000 })
    assert.deepEqual(retry, { charge: 1 })
    assert.equal(charges, 1)
  })

  it('does not remember the error of a handler that gave up because its call was stopped: the retry runs it', async () => {
    charges = 0
    const order = { ms: 300, order: '9' }
    await rejectsWithCode(
      mesh.caller.call('acme/prod/pay', '/charge/careful', order, { idempotencyKey: 'order-9', timeout: 100 }),
      'DEADLINE_EXCEEDED'
    )
    await sleep(50)
    const retry = await mesh.caller.call('acme/prod/pay', '/charge/careful', order, { idempotencyKey: 'order-9', timeout: 5000 })
    assert.deepEqual(retry, { charge: 2 })
    assert.equal(charges, 2)
  })

  it('refuses a key reused with other arguments with INVALID_ARGUMENT, and does not run the handler for it', async () => {
    charges = 0
    assert.deepEqual(await mesh.caller.call('acme/prod/pay', '/charge', { ms: 1, order: '10' }, { idempotencyKey: 'order-10' }), {
      charge: 1
    })
    const err = await rejectsWithCode(
      mesh.caller.call('acme/prod/pay', '/charge', { ms: 1, order: '11' }, { idempotencyKey: 'order-10' }),
      'INVALID_ARGUMENT'
    )
    assert.equal(err.details?.reason, 'IdempotencyKeyReused')
    assert.equal(charges, 1)
  })
})

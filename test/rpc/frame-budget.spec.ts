import assert from 'node:assert/strict'
import { MeshError } from '../../src/errors.ts'
import { FrameBudget } from '../../src/rpc/frame-budget.ts'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const never = (): boolean => false

describe('FrameBudget: bytes of frames not yet whole, per caller and in all', () => {
  it('refuses a caller past its share with RESOURCE_EXHAUSTED, whichever of its streams goes over', () => {
    const budget = new FrameBudget({ perCaller: 100, total: 1000, stallMs: 60_000 })
    const a = budget.open('peer-a', never, () => {})
    const b = budget.open('peer-a', never, () => {})
    a.hold(60)
    assert.throws(() => b.hold(41), (err: unknown) => MeshError.is(err, 'RESOURCE_EXHAUSTED'))
    assert.ok(MeshError.is(b.ended, 'RESOURCE_EXHAUSTED'), 'the share that went over is marked ended')
    assert.equal(a.ended, undefined)
    b.release()
    assert.equal(budget.heldBytes, 60)
    a.release()
    assert.equal(budget.heldBytes, 0)
  })

  it('refuses past the agent-wide total, whatever each caller holds', () => {
    const budget = new FrameBudget({ perCaller: 100, total: 150, stallMs: 60_000 })
    const shares = ['p1', 'p2'].map((peer) => budget.open(peer, never, () => {}))
    shares[0]!.hold(100)
    assert.throws(() => shares[1]!.hold(51), (err: unknown) => MeshError.is(err, 'RESOURCE_EXHAUSTED'))
    shares[1]!.release()
    shares[1]!.hold(50)
    assert.equal(budget.heldBytes, 150)
    for (const share of shares) share.release()
    assert.equal(budget.heldBytes, 0)
  })

  it('ends a share whose frame has had no byte for stallMs, and frees its bytes', async () => {
    const budget = new FrameBudget({ perCaller: 100, total: 100, stallMs: 40 })
    let stalled: MeshError | undefined
    const share = budget.open('peer', never, (err) => {
      stalled = err
    })
    share.hold(10)
    await sleep(120)
    assert.ok(MeshError.is(stalled, 'DEADLINE_EXCEEDED'), String(stalled))
    assert.equal(budget.heldBytes, 0)
  })

  it('does not run the clock of a stream the agent paused itself', async () => {
    const budget = new FrameBudget({ perCaller: 100, total: 100, stallMs: 40 })
    let paused = true
    let stalled = false
    const share = budget.open('peer', () => paused, () => {
      stalled = true
    })
    share.hold(10)
    await sleep(150)
    assert.equal(stalled, false, 'a paused stream is not stalled')
    paused = false
    await sleep(150)
    assert.equal(stalled, true, 'the clock runs again once reading resumes')
  })

  it('a frame that keeps arriving is not stalled', async () => {
    // a byte every 50 ms against a 500 ms clock: a loop stalled for 400 ms on a busy machine is fine
    const budget = new FrameBudget({ perCaller: 1000, total: 1000, stallMs: 500 })
    let stalled = false
    const share = budget.open('peer', never, () => {
      stalled = true
    })
    for (let n = 1; n <= 20; n++) {
      share.hold(n * 10)
      await sleep(50)
    }
    assert.equal(stalled, false)
    share.release()
  })
})

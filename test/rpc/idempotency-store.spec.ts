import assert from 'node:assert/strict'
import { IdempotencyStore } from '../../src/rpc/idempotency.ts'

const outcome = Promise.resolve(undefined)
const limits = (keysPerCaller: number, callers: number, bytesPerCaller = 1 << 30, bytes = 1 << 30) => ({
  keysPerCaller,
  callers,
  bytesPerCaller,
  bytes
})
/** A result frame holding `n` bytes. */
const result = (n: number) => Promise.resolve({ v: 1 as const, type: 'res' as const, id: 1, result: new Uint8Array(n) })
const settle = () => new Promise((resolve) => setImmediate(resolve))

describe('idempotency store: bounded per caller and in callers', () => {
  it("forgets only the flooding caller's own oldest keys when it goes over its quota", () => {
    const store = new IdempotencyStore(60_000, limits(100, 10))
    const victimKey = store.set('victim', 'order-42', 'd', outcome)
    for (let i = 0; i < 10_000; i++) store.set('attacker', `junk-${i}`, 'd', outcome)
    assert.equal(store.get('victim', 'order-42'), victimKey)
    assert.equal(store.keysOf('attacker'), 100)
    assert.equal(store.get('attacker', 'junk-0'), undefined)
    assert.notEqual(store.get('attacker', 'junk-9999'), undefined)
    assert.equal(store.size, 101)
  })

  it('tracks a bounded number of callers however many PeerIds come, forgetting the least recent caller whole', () => {
    const store = new IdempotencyStore(60_000, limits(5, 10))
    for (let k = 0; k < 5; k++) store.set('victim', `k-${k}`, 'd', outcome)
    for (let p = 0; p < 9; p++) store.set(`peer-${p}`, 'k', 'd', outcome)
    // the victim used a key again: it is now among the most recent callers
    store.set('victim', 'k-5', 'd', outcome)
    for (let p = 9; p < 10_000; p++) {
      store.set(`peer-${p}`, 'k', 'd', outcome)
      assert.ok(store.callerCount <= 10)
      assert.ok(store.size <= 10 * 5)
    }
    assert.equal(store.callerCount, 10)
    assert.equal(store.keysOf('victim'), 0, 'the least recent caller is forgotten with all its keys')
  })

  it('keeps the window: an expired key is forgotten', () => {
    const store = new IdempotencyStore(1_000, limits(5, 5))
    store.set('peer', 'k', 'd', outcome, 0)
    assert.notEqual(store.get('peer', 'k', 999), undefined)
    assert.equal(store.get('peer', 'k', 1_000), undefined)
    assert.equal(store.callerCount, 0)
  })

  it('forgets a caller\'s oldest keys past its bytes of remembered outcomes, and never another caller\'s', async () => {
    const store = new IdempotencyStore(60_000, limits(1000, 10, 1_000_000, 10_000_000))
    store.set('victim', 'order-42', 'd', result(1000))
    for (let i = 0; i < 100; i++) store.set('attacker', `big-${i}`, 'd', result(100_000))
    await settle()
    assert.ok(store.heldBytes <= 1_000_000 + 1000 + 1000, `holds ${store.heldBytes} bytes`)
    assert.ok(store.keysOf('attacker') <= 10, `the attacker keeps ${store.keysOf('attacker')} keys`)
    assert.notEqual(store.get('victim', 'order-42'), undefined)
  })

  it('keeps the bytes in all under the total, forgetting the least recently active callers\' keys first', async () => {
    const store = new IdempotencyStore(60_000, limits(1000, 100, 1_000_000, 2_000_000))
    for (let p = 0; p < 50; p++) store.set(`peer-${p}`, 'k', 'd', result(100_000))
    await settle()
    assert.ok(store.heldBytes <= 2_000_000, `holds ${store.heldBytes} bytes`)
    assert.equal(store.get('peer-0', 'k'), undefined, 'the least recent caller went first')
    assert.notEqual(store.get('peer-49', 'k'), undefined)
  })

  it('gives the bytes back when a key expires, is forgotten or taken again', async () => {
    const store = new IdempotencyStore(1_000, limits(10, 10))
    const entry = store.set('peer', 'a', 'd', result(500), 0)
    store.set('peer', 'b', 'd', result(700), 0)
    await settle()
    assert.ok(store.heldBytes >= 1200)
    store.forget('peer', 'a', entry)
    store.set('peer', 'b', 'd2', result(10), 0)
    await settle()
    assert.equal(store.get('peer', 'b', 2_000), undefined)
    assert.equal(store.heldBytes, 0)
  })

  it('keeps nothing for an outcome it cannot weigh (a cyclic result), without an unhandled rejection', async () => {
    const store = new IdempotencyStore(60_000, limits(10, 10))
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    store.set('peer', 'k', 'd', Promise.resolve({ v: 1 as const, type: 'res' as const, id: 1, result: cyclic }))
    await settle()
    assert.equal(store.get('peer', 'k'), undefined)
  })
})

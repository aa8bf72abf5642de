import assert from 'node:assert/strict'
import { IdempotencyStore } from '../../src/rpc/idempotency.ts'

const outcome = Promise.resolve(undefined)

describe('idempotency store: bounded per caller and in callers', () => {
  it("forgets only the flooding caller's own oldest keys when it goes over its quota", () => {
    const store = new IdempotencyStore(60_000, 100, 10)
    const victimKey = store.set('victim', 'order-42', 'd', outcome)
    for (let i = 0; i < 10_000; i++) store.set('attacker', `junk-${i}`, 'd', outcome)
    assert.equal(store.get('victim', 'order-42'), victimKey)
    assert.equal(store.keysOf('attacker'), 100)
    assert.equal(store.get('attacker', 'junk-0'), undefined)
    assert.notEqual(store.get('attacker', 'junk-9999'), undefined)
    assert.equal(store.size, 101)
  })

  it('tracks a bounded number of callers however many PeerIds come, forgetting the least recent caller whole', () => {
    const store = new IdempotencyStore(60_000, 5, 10)
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
    const store = new IdempotencyStore(1_000, 5, 5)
    store.set('peer', 'k', 'd', outcome, 0)
    assert.notEqual(store.get('peer', 'k', 999), undefined)
    assert.equal(store.get('peer', 'k', 1_000), undefined)
    assert.equal(store.callerCount, 0)
  })
})

import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { describe, it } from 'mocha'
import { decodeMessages, encodeMessage } from '../../src/rpc/codec.ts'
import { encodeMessageFast, MAX_FAST_BYTES, MAX_FAST_MESSAGE } from '../../src/rpc/fast-cbor.ts'
import { cid, ipldValue as value } from './ipld-values.ts'

/** What `@ipld/dag-cbor` makes of `value` as a message: the prefixed bytes, or the fact that it throws. */
function reference(value: unknown): Uint8Array | 'throws' {
  let body: Uint8Array
  try {
    body = dagCbor.encode(value)
  } catch {
    return 'throws'
  }
  const prefix: number[] = []
  let n = body.byteLength
  while (n >= 0x80) {
    prefix.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  prefix.push(n)
  return new Uint8Array([...prefix, ...body])
}

describe('rpc fast DAG-CBOR encoder: the bytes of @ipld/dag-cbor, or none', () => {
  it('encodes every value as @ipld/dag-cbor does, and leaves what it refuses to it (property)', () => {
    let fast = 0
    let runs = 0
    fc.assert(
      fc.property(value, (v) => {
        runs++
        const expected = reference(v)
        const got = encodeMessageFast(v)
        if (got !== undefined) {
          fast++
          assert.notEqual(expected, 'throws', 'the fast path encoded a value dag-cbor refuses')
          assert.deepEqual(got, expected)
        }
        if (expected === 'throws') {
          assert.throws(() => encodeMessage(v), { code: 'INVALID_ARGUMENT' })
        } else {
          assert.deepEqual(encodeMessage(v), expected)
        }
      }),
      { numRuns: 3000 }
    )
    // the property is about the fast path: many generated values must have taken it (one refused
    // leaf anywhere sends a whole value to dag-cbor, so about 30% do)
    assert.ok(fast > runs / 5, `only ${fast} of ${runs} values took the fast path`)
  })

  it('takes the frames of a call: request with a chain reference, result, error', () => {
    const frames = [
      { v: 1, type: 'req', id: 7, cmd: '/k8s/scale', args: { replicas: 3, ns: 'prod' }, timeout: 5000, auth: { prf: [cid] } },
      { v: 1, type: 'res', id: 7, result: { text: 'ok', n: -1.5, list: [1, 'two', null, true] } },
      { v: 1, type: 'err', id: 7, code: 'PERMISSION_DENIED', message: 'no chain grants /k8s/scale' }
    ]
    for (const frame of frames) {
      const got = encodeMessageFast(frame)
      assert.ok(got !== undefined)
      assert.deepEqual(got, reference(frame))
    }
  })

  it('keeps every message intact across arenas (no message overwrites another)', async () => {
    const values = Array.from({ length: 5000 }, (_, i) => ({ i, pad: 'p'.repeat(i % 700), bytes: new Uint8Array(i % 300).fill(i % 256) }))
    const messages = values.map((v) => encodeMessageFast(v))
    for (let i = 0; i < values.length; i++) assert.deepEqual(messages[i], reference(values[i]), `message ${i}`)
    // and they decode back, read as one stream
    const decoded: unknown[] = []
    for await (const v of decodeMessages()(toSource(messages as Uint8Array[]))) decoded.push(v)
    assert.equal(decoded.length, values.length)
    assert.deepEqual(decoded[4321], values[4321])
  })

  it('leaves messages over its size limit to @ipld/dag-cbor, which encodes them', () => {
    const big = { parts: Array.from({ length: 40 }, () => new Uint8Array(MAX_FAST_BYTES)) }
    assert.ok(dagCbor.encode(big).byteLength > MAX_FAST_MESSAGE)
    assert.equal(encodeMessageFast(big), undefined)
    assert.deepEqual(encodeMessage(big), reference(big))
  })

  it('leaves cycles and deep nesting to @ipld/dag-cbor (which refuses a cycle)', () => {
    const cyclic: Record<string, unknown> = { a: 1 }
    cyclic.self = cyclic
    assert.equal(encodeMessageFast(cyclic), undefined)
    assert.throws(() => encodeMessage(cyclic), { code: 'INVALID_ARGUMENT' })
    let deep: unknown = 'leaf'
    for (let i = 0; i < 100; i++) deep = [deep]
    assert.equal(encodeMessageFast(deep), undefined)
    assert.deepEqual(encodeMessage(deep), reference(deep))
  })
})

async function* toSource(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks
}

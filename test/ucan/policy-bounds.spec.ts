import assert from 'node:assert/strict'
import { describe, it } from 'mocha'
import { isPolicy, MAX_POLICY_DEPTH, matchPolicy, parseSelector, UcanError } from '../../src/ucan/index.ts'

function nestNot(depth: number): unknown[] {
  let stmt: unknown[] = ['==', '.a', 1]
  for (let i = 0; i < depth; i++) stmt = ['not', stmt]
  return [stmt]
}

function nestValue(depth: number): unknown {
  let v: unknown = 1
  for (let i = 0; i < depth; i++) v = [v]
  return v
}

describe('ucan policy: bounded work on hostile input', () => {
  it('accepts nesting up to MAX_POLICY_DEPTH and refuses deeper, without a stack overflow', () => {
    assert.equal(matchPolicy(nestNot(MAX_POLICY_DEPTH - 2), { a: 1 }), true)
    assert.equal(isPolicy(nestNot(MAX_POLICY_DEPTH + 1)), false)
    assert.equal(matchPolicy(nestNot(100_000), { a: 1 }), false)
  })

  it('compares deeply nested values without a stack overflow (denies past the depth bound)', () => {
    const deep = nestValue(100_000)
    assert.equal(matchPolicy([['==', '.a', 1]], { a: deep }), false)
    assert.equal(matchPolicy([['==', '.a', [[[1]]]]], { a: [[[1]]] }), true)
    assert.equal(matchPolicy([['==', '.a', nestValue(10)]], { a: deep }), false)
  })

  it('evaluates quantifiers over huge arrays in bounded time', () => {
    const huge = Array.from({ length: 1_000_000 }, (_, i) => ({ id: i, tags: ['x'] }))
    const copy = Array.from({ length: 1_000_000 }, (_, i) => ({ id: i, tags: ['x'] }))
    const start = performance.now()
    assert.equal(matchPolicy([['all', '.items', ['any', '.tags', ['==', '.', 'x']]]], { items: huge }), false)
    assert.equal(matchPolicy([['==', '.items', copy]], { items: huge }), false)
    const elapsed = performance.now() - start
    assert.ok(elapsed < 1000, `took ${elapsed} ms`)
    const small = huge.slice(0, 1000)
    assert.equal(matchPolicy([['all', '.items', ['any', '.tags', ['==', '.', 'x']]]], { items: small }), true)
  })

  it('matches long strings against many wildcards in linear time', () => {
    const text = 'a'.repeat(50_000)
    const start = performance.now()
    assert.equal(matchPolicy([['like', '.s', '*a*a*a*a*a*a*a*a*a*a*b']], { s: text }), false)
    assert.ok(performance.now() - start < 200)
  })

  it('never throws from matchPolicy, whatever the input', () => {
    const weird: unknown[] = [
      undefined,
      null,
      1,
      'x',
      {},
      [null],
      [[null]],
      [['==']],
      [['==', 5, 1]],
      [['and', null]]
    ]
    for (const p of weird) for (const a of weird) assert.equal(typeof matchPolicy(p, a), 'boolean')
    const proxy = new Proxy(
      {},
      {
        get() {
          throw new Error('boom')
        }
      }
    )
    assert.equal(matchPolicy([['==', '.a', 1]], proxy), false)
  })

  it('parses selectors strictly, as typed InvalidPolicy errors', () => {
    for (const bad of [
      '',
      'a',
      '..',
      '.a..b',
      '.a.',
      '.[',
      '.[1',
      '.["a"',
      '.[a]',
      '.[1.5]',
      '.a b',
      '.[99999999999999999999]'
    ]) {
      assert.throws(
        () => parseSelector(bad),
        (e: unknown) => UcanError.is(e, 'InvalidPolicy'),
        bad
      )
    }
    for (const good of [
      '.',
      '.a',
      '.a.b',
      '.a[0]',
      '.[0]',
      '.a[-1]',
      '.a[1:]',
      '.a[:2]',
      '.a[]',
      '.a?',
      '.["x y"]',
      '.a.[0]',
      '._b9'
    ]) {
      parseSelector(good)
    }
  })
})

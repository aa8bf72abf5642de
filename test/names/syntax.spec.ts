import assert from 'node:assert/strict'
import { assertName, isName } from '../../src/names/index.ts'

describe('name syntax', () => {
  for (const name of [
    'acme/prod',
    'acme/prod/k8s',
    'a/b/c/d/e/f/g/h',
    'org-1/x9',
    `acme/${'a'.repeat(63)}`
  ]) {
    it(`accepts ${name.length > 30 ? `${name.slice(0, 30)}…` : name}`, () => {
      assert.equal(isName(name), true)
    })
  }

  for (const [name, why] of [
    ['acme', 'a single label'],
    ['a/b/c/d/e/f/g/h/i', 'nine labels'],
    ['Acme/prod', 'upper case'],
    ['acme//prod', 'an empty label'],
    ['acme/prod/', 'a trailing slash'],
    ['acme/pr od', 'a space'],
    ['acme/prød', 'a non-ASCII letter'],
    [`acme/${'a'.repeat(64)}`, 'a 64-character label'],
    ['acme/prod_x', 'an underscore']
  ]) {
    it(`refuses ${why} with INVALID_ARGUMENT`, () => {
      assert.throws(() => assertName(name), { code: 'INVALID_ARGUMENT' })
    })
  }

  it('refuses a non-string with INVALID_ARGUMENT', () => {
    assert.throws(() => assertName(42), { code: 'INVALID_ARGUMENT' })
  })
})

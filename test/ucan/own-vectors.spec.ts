import assert from 'node:assert/strict'
import { describe, it } from 'mocha'
import { commandProves, decodeCanonical, isPolicy, matchPolicy, UcanError } from '../../src/ucan/index.ts'
import { OWN_VECTORS, readJson } from './fixtures.ts'

interface OwnVectors {
  cases: Array<{ name: string; policy: unknown; args: unknown; match: boolean }>
  malformed: Array<{ name: string; policy: unknown }>
  commands: Array<{ parent: string; child: string; proves: boolean }>
  cbor: Array<{ name: string; hex: string; canonical: boolean }>
}

/** `{ "$bigint": "…" }` → bigint; everything else as JSON.parse made it (own properties only). */
function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive)
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>
    const keys = Object.keys(obj)
    if (keys.length === 1 && keys[0] === '$bigint') return BigInt(obj['$bigint'] as string)
    const out: Record<string, unknown> = {}
    for (const k of keys)
      Object.defineProperty(out, k, {
        value: revive(obj[k]),
        enumerable: true,
        writable: true,
        configurable: true
      })
    return out
  }
  return value
}

describe('agentmesh UCAN vectors (test/vectors/ucan-policy.json)', () => {
  const v = readJson<OwnVectors>(OWN_VECTORS, 'ucan-policy.json')

  describe('policy evaluation', () => {
    for (const c of v.cases) {
      it(`${c.name} (${c.match ? 'matches' : 'does not match'})`, () => {
        assert.equal(matchPolicy(revive(c.policy), revive(c.args)), c.match)
      })
    }
  })

  describe('malformed policies are refused, and never match', () => {
    for (const c of v.malformed) {
      it(`refuses ${c.name}`, () => {
        assert.equal(isPolicy(c.policy), false)
        assert.equal(matchPolicy(c.policy, { a: 1, b: 1 }), false)
      })
    }
  })

  describe('command attenuation at segment boundaries', () => {
    for (const c of v.commands) {
      it(`${c.parent} ${c.proves ? 'proves' : 'does not prove'} ${c.child}`, () => {
        assert.equal(commandProves(c.parent, c.child), c.proves)
      })
    }
  })

  describe('canonical DAG-CBOR only', () => {
    for (const c of v.cbor) {
      it(`${c.canonical ? 'accepts' : 'refuses'} ${c.name}`, () => {
        const bytes = new Uint8Array(Buffer.from(c.hex, 'hex'))
        if (c.canonical) decodeCanonical(bytes)
        else
          assert.throws(
            () => decodeCanonical(bytes),
            (e: unknown) => UcanError.is(e, 'MalformedToken')
          )
      })
    }
  })
})

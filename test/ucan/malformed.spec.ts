import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { describe, it } from 'mocha'
import { generateSigner } from '../../src/identity/index.ts'
import {
  decode,
  decodeDelegation,
  delegate,
  invoke,
  MAX_TOKEN_BYTES,
  UcanError,
  validate
} from '../../src/ucan/index.ts'
import { sealEnvelope } from '../../src/ucan/envelope.ts'
import { NOW } from './helpers.ts'

function malformed(e: unknown): boolean {
  assert.ok(e instanceof UcanError, `expected UcanError, got ${String(e)}`)
  assert.equal(e.reason, 'MalformedToken', e.message)
  assert.equal(e.code, 'INVALID_ARGUMENT')
  return true
}

/** Re-wrap a token's payload with another header or tag, signed by `signer`. */
function rewrap(
  bytes: Uint8Array,
  edit: (env: [Uint8Array, Record<string, unknown>]) => unknown
): Uint8Array {
  const env = dagCbor.decode(bytes) as [Uint8Array, Record<string, unknown>]
  return dagCbor.encode(edit(env))
}

describe('ucan malformed tokens: typed errors, never an unhandled exception', () => {
  it('refuses random bytes with MalformedToken (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 512 }), (bytes) => {
        try {
          decode(bytes)
          return true // astronomically unlikely, but a valid token is fine
        } catch (e) {
          return malformed(e)
        }
      }),
      { numRuns: 500 }
    )
  })

  it('refuses every truncation of a valid token', async () => {
    const a = generateSigner()
    const dlg = await delegate({
      issuer: a,
      audience: a.did,
      subject: a.did,
      command: '/a',
      expiration: null
    })
    for (let n = 0; n < dlg.bytes.length; n++)
      assert.throws(() => decode(dlg.bytes.subarray(0, n)), malformed)
  })

  it('refuses random single-byte corruptions with a typed error (property)', async () => {
    const a = generateSigner()
    const dlg = await delegate({
      issuer: a,
      audience: a.did,
      subject: a.did,
      command: '/a',
      expiration: null
    })
    const inv = await invoke({ issuer: a, subject: a.did, command: '/a', proofs: [dlg], expiration: null })
    await fc.assert(
      fc.asyncProperty(fc.nat(inv.bytes.length - 1), fc.integer({ min: 1, max: 255 }), async (at, xor) => {
        const bytes = Uint8Array.from(inv.bytes)
        bytes[at]! ^= xor
        try {
          await validate(bytes, { proofs: [dlg], now: NOW, cache: false })
          return false // a corrupted token must never validate
        } catch (e) {
          return e instanceof UcanError
        }
      }),
      { numRuns: 300 }
    )
  })

  it('refuses a wrong varsig header', async () => {
    const a = generateSigner()
    const dlg = await delegate({
      issuer: a,
      audience: a.did,
      subject: a.did,
      command: '/a',
      expiration: null
    })
    const p256 = Uint8Array.of(0x34, 0x01, 0xec, 0x01, 0x12, 0x71)
    const bytes = rewrap(dlg.bytes, ([sig, sp]) => [sig, { ...sp, h: p256 }])
    assert.throws(() => decode(bytes), malformed)
    const noHeader = rewrap(dlg.bytes, ([sig, sp]) => [sig, { 'ucan/dlg@1.0.0': sp['ucan/dlg@1.0.0'] }])
    assert.throws(() => decode(noHeader), malformed)
  })

  it('refuses an unknown token type and extra envelope fields', async () => {
    const a = generateSigner()
    const dlg = await delegate({
      issuer: a,
      audience: a.did,
      subject: a.did,
      command: '/a',
      expiration: null
    })
    const other = rewrap(dlg.bytes, ([sig, sp]) => [
      sig,
      { h: sp['h'], 'ucan/dlg@2.0.0': sp['ucan/dlg@1.0.0'] }
    ])
    assert.throws(() => decode(other), malformed)
    const extra = rewrap(dlg.bytes, ([sig, sp]) => [sig, { ...sp, x: 1 }])
    assert.throws(() => decode(extra), malformed)
    assert.throws(() => decode(dagCbor.encode([dlg.signature])), malformed)
    assert.throws(() => decode(dagCbor.encode({ a: 1 })), malformed)
  })

  it('refuses a wrong key type for the issuer (secp256k1 did:key)', async () => {
    const a = generateSigner()
    const payload = {
      iss: 'did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme',
      aud: a.did,
      sub: a.did,
      cmd: '/a',
      pol: [],
      nonce: new Uint8Array(12),
      exp: null
    }
    assert.throws(() => decodeDelegation(sealEnvelopeSync(payload)), malformed)
    function sealEnvelopeSync(p: Record<string, unknown>): Uint8Array {
      return dagCbor.encode([
        new Uint8Array(64),
        { h: Uint8Array.of(0x34, 0x01, 0xed, 0x01, 0xed, 0x01, 0x13, 0x71), 'ucan/dlg@1.0.0': p }
      ])
    }
  })

  it('refuses payloads with missing or mistyped fields', async () => {
    const a = generateSigner()
    const good = {
      iss: a.did,
      aud: a.did,
      sub: a.did,
      cmd: '/a',
      pol: [],
      nonce: new Uint8Array(12),
      exp: null
    }
    const bad: Array<Record<string, unknown>> = [
      { ...good, cmd: '/A' },
      { ...good, cmd: 'a' },
      { ...good, pol: [['?', '.a']] },
      { ...good, pol: {} },
      { ...good, nonce: 'abc' },
      { ...good, exp: 2n ** 60n },
      { ...good, exp: 1.5 },
      { ...good, nbf: 'soon' },
      { ...good, aud: 'bob' },
      { ...good, sub: 42 },
      { ...good, meta: [1] }
    ]
    const { exp: _exp, ...noExp } = good
    bad.push(noExp)
    for (const payload of bad) {
      const bytes = await sealEnvelope('ucan/dlg@1.0.0', payload, a)
      assert.throws(
        () => decodeDelegation(bytes),
        malformed,
        JSON.stringify(payload, (_k, v) => (typeof v === 'bigint' ? String(v) : v))
      )
    }
  })

  it('refuses tokens larger than MAX_TOKEN_BYTES, on read and on creation', async () => {
    const a = generateSigner()
    const payload = {
      iss: a.did,
      sub: a.did,
      cmd: '/a',
      args: { blob: new Uint8Array(MAX_TOKEN_BYTES) },
      prf: [],
      nonce: new Uint8Array(0),
      exp: null
    }
    const big = await sealEnvelope('ucan/inv@1.0.0', payload, a)
    assert.throws(() => decode(big), malformed)
    await assert.rejects(
      invoke({ issuer: a, subject: a.did, command: '/a', args: payload.args, expiration: null }),
      malformed
    )
  })

  it('refuses deeply nested CBOR without a stack overflow escaping', () => {
    const depth = 20_000
    const bytes = new Uint8Array(depth + 1).fill(0x81)
    bytes[depth] = 0x01
    assert.throws(() => decode(bytes), malformed)
  })

  it('rejects a 3-byte signature as InvalidSignature, not as a crash', async () => {
    const a = generateSigner()
    const inv = await invoke({ issuer: a, subject: a.did, command: '/a', expiration: null })
    const bytes = rewrap(inv.bytes, ([, sp]) => [Uint8Array.of(1, 2, 3), sp])
    await assert.rejects(validate(bytes, { now: NOW }), (e: unknown) => UcanError.is(e, 'InvalidSignature'))
  })
})

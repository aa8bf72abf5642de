import assert from 'node:assert/strict'
import { describe, it } from 'mocha'
import { generateSigner } from '../../src/identity/index.ts'
import { sealEnvelope } from '../../src/ucan/envelope.ts'
import {
  DELEGATION_TAG,
  decode,
  decodeDelegation,
  decodeInvocation,
  delegate,
  ED25519_DAG_CBOR_VARSIG,
  encode,
  INVOCATION_TAG,
  invoke,
  UcanError,
  verifySignature
} from '../../src/ucan/index.ts'
import { NOW } from './helpers.ts'

describe('ucan tokens: delegation and invocation envelopes', () => {
  it('round-trips a delegation with every optional field through encode/decode', async () => {
    const alice = generateSigner()
    const bob = generateSigner()
    const dlg = await delegate({
      issuer: alice,
      audience: bob.did,
      subject: alice.did,
      command: '/k8s',
      policy: [['<=', '.replicas', 10]],
      expiration: NOW + 60,
      notBefore: NOW - 60,
      meta: { note: 'ops' }
    })
    const again = decode(encode(dlg))
    assert.equal(again.type, 'delegation')
    assert.ok(again.cid.equals(dlg.cid))
    assert.equal(dlg.tag, DELEGATION_TAG)
    assert.deepEqual(again.payload, dlg.payload)
    assert.equal(dlg.payload.nonce.length, 12)
    assert.ok(verifySignature(again))
    assert.ok(dlg.cid.toString().startsWith('bafyrei'))
    assert.equal(dlg.cid.version, 1)
    assert.equal(dlg.cid.code, 0x71)
    assert.equal(dlg.cid.multihash.code, 0x12)
  })

  it('writes the Ed25519 + DAG-CBOR varsig header NAHtAe0BE3E', () => {
    assert.equal(Buffer.from(ED25519_DAG_CBOR_VARSIG).toString('base64'), 'NAHtAe0BE3E=')
  })

  it('round-trips an invocation with aud, iat, meta, cause and proofs', async () => {
    const alice = generateSigner()
    const bob = generateSigner()
    const dlg = await delegate({
      issuer: alice,
      audience: bob.did,
      subject: alice.did,
      command: '/',
      expiration: null
    })
    const inv = await invoke({
      issuer: bob,
      subject: alice.did,
      audience: generateSigner().did,
      command: '/msg/send',
      args: { to: ['x'], n: 2n ** 60n, raw: new Uint8Array([1, 2]) },
      proofs: [dlg],
      expiration: NOW + 30,
      issuedAt: NOW,
      meta: { trace: 'abc' },
      cause: dlg.cid
    })
    const again = decodeInvocation(inv.bytes)
    assert.equal(inv.tag, INVOCATION_TAG)
    assert.deepEqual(again.payload, inv.payload)
    assert.equal(again.payload.args['n'], 2n ** 60n)
    assert.ok(again.payload.prf[0]!.equals(dlg.cid))
    assert.ok(verifySignature(again))
  })

  it('reads tokens tagged with the older 1.0.0-rc.1 tags', async () => {
    const alice = generateSigner()
    const payload = {
      iss: alice.did,
      aud: alice.did,
      sub: alice.did,
      cmd: '/a',
      pol: [],
      nonce: new Uint8Array(12),
      exp: null
    }
    const bytes = await sealEnvelope('ucan/dlg@1.0.0-rc.1', payload, alice)
    const dlg = decodeDelegation(bytes)
    assert.equal(dlg.tag, 'ucan/dlg@1.0.0-rc.1')
    assert.ok(verifySignature(dlg))
    const invBytes = await sealEnvelope(
      'ucan/inv@1.0.0-rc.1',
      { iss: alice.did, sub: alice.did, cmd: '/a', args: {}, prf: [], nonce: new Uint8Array(0), exp: null },
      alice
    )
    assert.equal(decode(invBytes).type, 'invocation')
  })

  it('refuses a delegation decoded as an invocation and vice versa', async () => {
    const alice = generateSigner()
    const dlg = await delegate({
      issuer: alice,
      audience: alice.did,
      subject: alice.did,
      command: '/a',
      expiration: null
    })
    assert.throws(
      () => decodeInvocation(dlg.bytes),
      (e: unknown) => UcanError.is(e, 'MalformedToken')
    )
  })

  it('refuses to create tokens with bad commands, policies, times or reserved /ucan commands', async () => {
    const a = generateSigner()
    const base = { issuer: a, audience: a.did, subject: a.did, expiration: null }
    await assert.rejects(delegate({ ...base, command: '/K8s' }), (e: unknown) =>
      UcanError.is(e, 'InvalidCommand')
    )
    await assert.rejects(delegate({ ...base, command: 'k8s' }), (e: unknown) =>
      UcanError.is(e, 'InvalidCommand')
    )
    await assert.rejects(delegate({ ...base, command: '/ucan/revoke' }), (e: unknown) =>
      UcanError.is(e, 'InvalidCommand')
    )
    await delegate({ ...base, command: '/ucan/revoke', allowReserved: true })
    await assert.rejects(
      delegate({ ...base, command: '/a', policy: [['>', '.a', 'x']] }),
      (e: unknown) => UcanError.is(e, 'InvalidPolicy') && UcanError.is(e, 'INVALID_ARGUMENT')
    )
    await assert.rejects(delegate({ ...base, command: '/a', expiration: 2 ** 60 }), (e: unknown) =>
      UcanError.is(e, 'MalformedToken')
    )
    await assert.rejects(delegate({ ...base, command: '/a', expiration: 1.5 }), (e: unknown) =>
      UcanError.is(e, 'MalformedToken')
    )
    await assert.rejects(
      invoke({ issuer: a, subject: a.did, command: '/a', args: { f: () => 1 } as never, expiration: null }),
      (e: unknown) => UcanError.is(e, 'MalformedToken')
    )
  })

  it('signs with an asynchronous signer', async () => {
    const a = generateSigner()
    const asyncSigner = {
      did: a.did,
      algorithm: 'Ed25519' as const,
      sign: async (d: Uint8Array) => a.sign(d)
    }
    const dlg = await delegate({
      issuer: asyncSigner,
      audience: a.did,
      subject: a.did,
      command: '/',
      expiration: null
    })
    assert.ok(verifySignature(dlg))
  })
})

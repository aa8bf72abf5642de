import assert from 'node:assert/strict'
import { describe, it } from 'mocha'
import { signerFromSeed } from '../../src/identity/index.ts'
import {
  decode,
  decodeDelegation,
  delegate,
  matchPolicy,
  UcanCache,
  UcanError,
  validate,
  verifySignature
} from '../../src/ucan/index.ts'
import { b64, dagJsonBytes, readJson, SPEC_VECTORS } from './fixtures.ts'

interface DelegationVectors {
  principals: Record<string, string>
  valid: Array<{
    name: string
    token: string
    cid: string
    envelope: {
      payload: Record<string, unknown> & { nonce: string }
      signature: string
      alg: string
      enc: string
      spec: string
      version: string
    }
  }>
}

interface InvocationCase {
  name: string
  description: string
  invocation: { '/': { bytes: string } }
  proofs: Array<{ '/': { bytes: string } }>
  time: number
  error?: { name: string }
}

interface PolicyVectors {
  valid: Array<{ args: unknown; policies: unknown[] }>
  invalid: Array<{ args: unknown; policies: unknown[] }>
}

/** Principal keys are base64pad(varint(0x1300) + 32-byte seed). */
function seedOf(principal: string): Uint8Array {
  const bytes = b64(principal)
  assert.deepEqual([...bytes.subarray(0, 2)], [0x80, 0x26])
  return bytes.subarray(2)
}

describe('UCAN 1.0.0 spec fixtures', () => {
  const dlg = readJson<DelegationVectors>(SPEC_VECTORS, 'delegation.json')
  const inv = readJson<{ valid: InvocationCase[]; invalid: InvocationCase[] }>(
    SPEC_VECTORS,
    'invocation.json'
  )
  const pol = readJson<PolicyVectors>(SPEC_VECTORS, 'policy.json')

  describe('delegation.json', () => {
    for (const v of dlg.valid) {
      it(`decodes "${v.name}" with its CID, payload and a verifying signature`, () => {
        const token = decodeDelegation(b64(v.token))
        assert.equal(token.cid.toString(), v.cid)
        assert.equal(token.tag, `ucan/${v.envelope.spec}@${v.envelope.version}`)
        const p = v.envelope.payload
        assert.equal(token.payload.iss, p['iss'])
        assert.equal(token.payload.aud, p['aud'])
        assert.equal(token.payload.sub, p['sub'])
        assert.equal(token.payload.cmd, p['cmd'])
        assert.deepEqual(token.payload.pol, p['pol'])
        assert.equal(token.payload.exp, p['exp'])
        assert.deepEqual(token.payload.nonce, b64(p.nonce))
        assert.deepEqual(token.signature, b64(v.envelope.signature))
        assert.ok(verifySignature(token))
      })

      it(`re-creates "${v.name}" byte for byte from the issuer key`, async () => {
        const p = v.envelope.payload
        const issuer = Object.values(dlg.principals)
          .map((k) => signerFromSeed(seedOf(k)))
          .find((s) => s.did === p['iss'])
        assert.ok(issuer, 'issuer principal is in the fixture')
        const made = await delegate({
          issuer,
          audience: p['aud'] as string,
          subject: p['sub'] as string,
          command: p['cmd'] as string,
          policy: p['pol'] as [],
          expiration: p['exp'] as number,
          nonce: b64(p.nonce)
        })
        assert.equal(made.cid.toString(), v.cid)
        assert.deepEqual(made.bytes, b64(v.token))
      })
    }
  })

  describe('invocation.json', () => {
    for (const v of inv.valid) {
      it(`accepts "${v.name}": ${v.description}`, async () => {
        const result = await validate(dagJsonBytes(v.invocation), {
          proofs: v.proofs.map(dagJsonBytes),
          now: v.time,
          cache: new UcanCache()
        })
        assert.equal(result.invocation.cid.toString(), decode(dagJsonBytes(v.invocation)).cid.toString())
      })
    }
    for (const v of inv.invalid) {
      it(`refuses "${v.name}" with ${v.error?.name}: ${v.description}`, async () => {
        await assert.rejects(
          validate(dagJsonBytes(v.invocation), {
            proofs: v.proofs.map(dagJsonBytes),
            now: v.time,
            cache: new UcanCache()
          }),
          (err: unknown) => {
            assert.ok(err instanceof UcanError, `expected a UcanError, got ${String(err)}`)
            // the fixture's error `name` is the spec's name of the failure: our `name` and `reason`
            assert.equal(err.name, v.error?.name)
            assert.equal(err.reason, v.error?.name)
            return true
          }
        )
      })
    }
    it('covers 7 valid and 13 invalid cases', () => {
      assert.equal(inv.valid.length, 7)
      assert.equal(inv.invalid.length, 13)
    })
  })

  describe('policy.json', () => {
    pol.valid.forEach((group, g) => {
      group.policies.forEach((policy, i) => {
        it(`valid group ${g} policy ${i} matches: ${JSON.stringify(policy)}`, () => {
          assert.equal(matchPolicy(policy, group.args), true)
        })
      })
    })
    pol.invalid.forEach((group, g) => {
      group.policies.forEach((policy, i) => {
        it(`invalid group ${g} policy ${i} does not match: ${JSON.stringify(policy)}`, () => {
          assert.equal(matchPolicy(policy, group.args), false)
        })
      })
    })
  })
})

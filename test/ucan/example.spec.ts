import assert from 'node:assert/strict'
import { describe, it } from 'mocha'
import { delegate, generateSigner, invoke, validate } from '../../src/ucan/index.ts'

describe('ucan package example (index.ts @packageDocumentation)', () => {
  it('runs as documented: a policy caps a derived action', async () => {
    const authority = generateSigner()
    const orchestrator = generateSigner()
    const now = Math.floor(Date.now() / 1000)
    const root = await delegate({
      issuer: authority,
      audience: orchestrator.did,
      subject: authority.did,
      command: '/k8s',
      policy: [['<=', '.replicas', 10]],
      expiration: now + 3600
    })
    const inv = await invoke({
      issuer: orchestrator,
      subject: authority.did,
      command: '/k8s/scale',
      args: { replicas: 3 },
      proofs: [root],
      expiration: now + 60
    })
    const ok = await validate(inv.bytes, { proofs: [root.bytes], trusted: [authority.did] })
    assert.equal(ok.allows('/k8s/scale', { replicas: 50 }), false)
    assert.equal(ok.allows('/k8s/scale', { replicas: 5 }), true)
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'mocha'
import { generateSigner } from '../../src/identity/index.ts'
import {
  checkChain,
  delegate,
  type Invocation,
  invoke,
  MemoryRevocationStore,
  UcanCache,
  UcanError,
  validate,
  validateSync
} from '../../src/ucan/index.ts'
import { makeChain, NOW } from './helpers.ts'

const isReason = (reason: string) => (e: unknown) => {
  assert.ok(e instanceof UcanError, `expected UcanError, got ${String(e)}`)
  assert.equal(e.reason, reason, e.message)
  return true
}

async function threeLinks() {
  const chain = await makeChain([
    { command: '/k8s', policy: [['==', '.namespace', 'prod']] },
    { command: '/k8s/apps', policy: [['<=', '.replicas', 10]] },
    { command: '/k8s/apps/scale', policy: [['like', '.deployment', 'web-*']] }
  ])
  const invoker = chain.principals[3]!
  const inv = await invoke({
    issuer: invoker,
    subject: chain.principals[0]!.did,
    command: '/k8s/apps/scale',
    args: { namespace: 'prod', replicas: 3, deployment: 'web-1' },
    proofs: chain.delegations,
    expiration: NOW + 60
  })
  return { ...chain, inv, proofs: chain.delegations.map((d) => d.bytes) }
}

describe('ucan validate: chain validation', () => {
  it('accepts a 3-link chain and reports subject, issuer, command and chain CIDs', async () => {
    const { principals, delegations, inv, proofs } = await threeLinks()
    const ok = await validate(inv.bytes, {
      proofs,
      now: NOW,
      cache: new UcanCache(),
      trusted: [principals[0]!.did]
    })
    assert.equal(ok.subject, principals[0]!.did)
    assert.equal(ok.issuer, principals[3]!.did)
    assert.equal(ok.command, '/k8s/apps/scale')
    assert.deepEqual(
      ok.chain.cids,
      delegations.map((d) => d.cid.toString())
    )
    assert.equal(ok.chain.policies.length, 3)
    assert.equal(ok.chain.holder, principals[3]!.did)
  })

  it('checks derived actions against the same chain without re-verifying, and denies by default', async () => {
    const { inv, proofs } = await threeLinks()
    const ok = validateSync(inv.bytes, { proofs, now: NOW, cache: new UcanCache() })
    const clock = { now: NOW }
    assert.equal(
      ok.allows('/k8s/apps/scale/web', { namespace: 'prod', replicas: 5, deployment: 'web-2' }, clock),
      true
    )
    assert.equal(
      checkChain(
        ok.chain,
        '/k8s/apps/scale',
        { namespace: 'prod', replicas: 11, deployment: 'web-2' },
        clock
      ),
      false
    )
    assert.equal(
      ok.allows('/k8s/apps/scale', { namespace: 'dev', replicas: 1, deployment: 'web-2' }, clock),
      false
    )
    assert.equal(ok.allows('/k8s/apps/scale', { namespace: 'prod', replicas: 1 }, clock), false)
    assert.equal(
      ok.allows('/k8s/apps', { namespace: 'prod', replicas: 1, deployment: 'web-2' }, clock),
      false
    )
    assert.equal(
      ok.allows('/k8s/apps/scalex', { namespace: 'prod', replicas: 1, deployment: 'web-2' }, clock),
      false
    )
    assert.equal(ok.allows('not a command', {}, clock), false)
    assert.throws(
      () =>
        ok.chain.authorize(
          '/k8s/apps/scale',
          { namespace: 'prod', replicas: 99, deployment: 'web-1' },
          clock
        ),
      isReason('MatchError')
    )
    assert.throws(() => ok.chain.authorize('/k8s/delete', {}, clock), isReason('InvalidClaim'))
    assert.throws(() => ok.chain.authorize('/k8s/apps/scale', {}, { now: NOW + 7200 }), isReason('Expired'))
  })

  it('verifies a chain once: later calls need neither the proofs nor their signatures', async () => {
    const { inv, proofs } = await threeLinks()
    const cache = new UcanCache()
    await validate(inv.bytes, { proofs, now: NOW, cache })
    assert.equal(cache.delegations.size, 3)
    assert.equal(cache.chains.size, 1)
    await validate(inv.bytes, { now: NOW, cache })
    await assert.rejects(validate(inv.bytes, { now: NOW, cache: false }), isReason('UnavailableProof'))
  })

  it('validates a new invocation over a cached chain without the proofs', async () => {
    const { principals, delegations, inv, proofs } = await threeLinks()
    const cache = new UcanCache()
    await validate(inv, { proofs, now: NOW, cache })
    const next = await invoke({
      issuer: principals[3]!,
      subject: principals[0]!.did,
      command: '/k8s/apps/scale',
      args: { namespace: 'prod', replicas: 4, deployment: 'web-9' },
      proofs: delegations,
      expiration: NOW + 60
    })
    assert.equal((await validate(next.bytes, { now: NOW, cache })).args['replicas'], 4)
  })

  it('refuses a chain with a revoked delegation, and later derived actions once revoked', async () => {
    const { delegations, inv, proofs } = await threeLinks()
    const revoked = new MemoryRevocationStore()
    const cache = new UcanCache()
    const ok = await validate(inv.bytes, { proofs, now: NOW, revoked, cache })
    revoked.revoke(delegations[1]!.cid)
    await assert.rejects(validate(inv.bytes, { proofs, now: NOW, revoked, cache }), isReason('Revoked'))
    assert.equal(
      ok.allows('/k8s/apps/scale', { namespace: 'prod', replicas: 1, deployment: 'web-1' }, { now: NOW }),
      false
    )
    assert.equal(revoked.unrevoke(delegations[1]!.cid), true)
    await validate(inv.bytes, { proofs, now: NOW, revoked, cache })
  })

  it('refuses a chain rooted in an untrusted authority', async () => {
    const { inv, proofs } = await threeLinks()
    await assert.rejects(
      validate(inv.bytes, { proofs, now: NOW, trusted: [generateSigner().did] }),
      isReason('InvalidSubject')
    )
  })

  it('applies the clock skew to exp and nbf', async () => {
    const chain = await makeChain([{ command: '/a', expiration: NOW - 30, notBefore: NOW - 100 }])
    const inv = await invoke({
      issuer: chain.principals[1]!,
      subject: chain.principals[0]!.did,
      command: '/a',
      proofs: chain.delegations,
      expiration: null
    })
    const proofs = chain.delegations.map((d) => d.bytes)
    await validate(inv.bytes, { proofs, now: NOW, cache: new UcanCache() })
    await assert.rejects(
      validate(inv.bytes, { proofs, now: NOW, clockSkew: 0, cache: new UcanCache() }),
      isReason('Expired')
    )
    const later = await makeChain([{ command: '/a', notBefore: NOW + 30 }])
    const inv2 = await invoke({
      issuer: later.principals[1]!,
      subject: later.principals[0]!.did,
      command: '/a',
      proofs: later.delegations,
      expiration: null
    })
    const proofs2 = later.delegations.map((d) => d.bytes)
    await validate(inv2.bytes, { proofs: proofs2, now: NOW })
    await assert.rejects(
      validate(inv2.bytes, { proofs: proofs2, now: NOW, clockSkew: 10 }),
      isReason('TooEarly')
    )
  })

  it('refuses a child delegation that widens the command (segment boundary)', async () => {
    const chain = await makeChain([{ command: '/k8s' }, { command: '/k8sx' }])
    const inv = await invoke({
      issuer: chain.principals[2]!,
      subject: chain.principals[0]!.did,
      command: '/k8sx',
      proofs: chain.delegations,
      expiration: null
    })
    await assert.rejects(
      validate(inv.bytes, { proofs: chain.delegations.map((d) => d.bytes), now: NOW }),
      isReason('InvalidClaim')
    )
  })

  it('refuses an invocation of a command outside its chain', async () => {
    const chain = await makeChain([{ command: '/k8s/scale' }])
    const inv = await invoke({
      issuer: chain.principals[1]!,
      subject: chain.principals[0]!.did,
      command: '/k8s/delete',
      proofs: chain.delegations,
      expiration: null
    })
    await assert.rejects(
      validate(inv.bytes, { proofs: chain.delegations, now: NOW }),
      isReason('InvalidClaim')
    )
  })

  it('refuses a root delegation not issued by its subject', async () => {
    const alice = generateSigner()
    const mallory = generateSigner()
    const dlg = await delegate({
      issuer: mallory,
      audience: mallory.did,
      subject: alice.did,
      command: '/',
      expiration: null
    })
    const inv = await invoke({
      issuer: mallory,
      subject: alice.did,
      command: '/x',
      proofs: [dlg],
      expiration: null
    })
    await assert.rejects(validate(inv.bytes, { proofs: [dlg], now: NOW }), isReason('InvalidClaim'))
  })

  it('accepts a powerline in the middle of a chain', async () => {
    const chain = await makeChain([{ command: '/' }, { command: '/msg', powerline: true }])
    const inv = await invoke({
      issuer: chain.principals[2]!,
      subject: chain.principals[0]!.did,
      command: '/msg/send',
      proofs: chain.delegations,
      expiration: null
    })
    await validate(inv.bytes, { proofs: chain.delegations, now: NOW })
  })

  it('recomputes CIDs: a proof whose bytes do not hash to the prf CID is unavailable', async () => {
    const { inv, delegations } = await threeLinks()
    const map = new Map(delegations.map((d) => [d.cid.toString(), d.bytes]))
    const first = delegations[0]!.cid.toString()
    map.set(first, delegations[1]!.bytes)
    await assert.rejects(
      validate(inv.bytes, { proofs: map, now: NOW, cache: false }),
      isReason('UnavailableProof')
    )
  })

  it('never trusts a token object: forged payloads are re-read from the signed bytes', async () => {
    const { inv, delegations, principals } = await threeLinks()
    const forgedProof = { ...delegations[2]!, payload: { ...delegations[2]!.payload, cmd: '/' } }
    const other = await invoke({
      issuer: principals[3]!,
      subject: principals[0]!.did,
      command: '/k8s/apps/scale',
      args: { namespace: 'prod', replicas: 1, deployment: 'web-1' },
      proofs: delegations,
      expiration: null
    })
    const forgedInv: Invocation = { ...other, payload: { ...other.payload, cmd: '/k8s/delete' } }
    const ok = await validate(forgedInv, {
      proofs: [delegations[0]!, delegations[1]!, forgedProof],
      now: NOW,
      cache: false
    })
    assert.equal(ok.command, '/k8s/apps/scale')
    assert.equal(ok.allows('/k8s/delete', {}, { now: NOW }), false)
    void inv
  })

  it('refuses an invocation whose bytes were altered after signing', async () => {
    const { inv, proofs } = await threeLinks()
    const bytes = Uint8Array.from(inv.bytes)
    const at = Buffer.from(bytes).indexOf(Buffer.from('web-1'))
    bytes[at + 4] = '2'.charCodeAt(0)
    await assert.rejects(validate(bytes, { proofs, now: NOW }), isReason('InvalidSignature'))
  })

  it('lets the subject invoke anything for itself without proofs', async () => {
    const alice = generateSigner()
    const inv = await invoke({
      issuer: alice,
      subject: alice.did,
      command: '/any/thing',
      args: { a: 1 },
      expiration: null
    })
    const ok = await validate(inv.bytes, { now: NOW })
    assert.equal(ok.allows('/other', {}), true)
  })

  it('checks the intended executor when asked', async () => {
    const { inv, proofs, principals } = await threeLinks()
    await validate(inv.bytes, { proofs, now: NOW, audience: principals[0]!.did })
    await assert.rejects(
      validate(inv.bytes, { proofs, now: NOW, audience: generateSigner().did }),
      isReason('InvalidAudience')
    )
  })
})

import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Connection } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from 'libp2p'
import { createRelay, type Relay } from '../../src/index.ts'
import { type Ed25519Signer, generateSigner } from '../../src/identity/index.ts'
import {
  ADMISSION_PROTOCOL,
  answerAdmission,
  grantName,
  lookupRecord,
  MAX_ADMISSION_ENTRIES,
  MAX_RECORD_TTL_MS,
  NAME_COMMAND,
  registerRecord,
  type SignedNameRecord,
  signNameRecord,
  verifyNameRecord
} from '../../src/names/index.ts'
import { createAgentNode } from '../../src/net/index.ts'
import { type Delegation, invoke, MemoryRevocationStore } from '../../src/ucan/index.ts'
import { nowSeconds, rejectsWithCode } from '../fixtures/mesh.ts'
import { waitFor } from '../fixtures/wait.ts'

const name = 'acme/prod/x'

/** A record signed by hand, so it can carry an expiry `signNameRecord` would never write. */
async function handSigned(signer: Ed25519Signer, authority: string, right: Delegation, exp: number, seq: number): Promise<SignedNameRecord> {
  const inv = await invoke({ issuer: signer, subject: authority, command: NAME_COMMAND, args: { name, addrs: [], seq }, proofs: [right], expiration: exp })
  return { token: inv.bytes, proofs: [right.bytes] }
}

/**
 * Threat: a stolen agent key registers a record with a far expiry and the top `seq`; the authority
 * revokes that naming right and grants the name to a new key. The relay must neither keep serving
 * the revoked record, nor refuse the new holder, nor keep admitting the revoked peer.
 */
describe('a revoked naming right does not keep its name (real relay and agents over TCP)', function () {
  this.timeout(30_000)
  const authority = generateSigner()
  const trust = { acme: authority.did }
  let revoked: MemoryRevocationStore
  let relay: Relay
  const nodes: Libp2p[] = []

  /** An agent node for `key`, connected to the relay (and seen by it). */
  async function agentOn(key: Ed25519Signer): Promise<{ node: Libp2p; conn: Connection }> {
    const node = await createAgentNode({ privateKey: key.toPrivateKey(), relays: [] })
    nodes.push(node)
    const conn = await node.dial(multiaddr(relay.addrs[0]!))
    await waitFor('the relay to see the connection', () => relay.node.getConnections(node.peerId).length > 0)
    return { node, conn }
  }

  beforeEach(async () => {
    revoked = new MemoryRevocationStore()
    relay = await createRelay({ trust, revoked, listen: ['/ip4/127.0.0.1/tcp/0'] })
  })
  afterEach(async () => {
    await Promise.allSettled([...nodes.splice(0).map(async (n) => n.stop()), relay.stop()])
  })

  it('refuses a record that expires more than MAX_RECORD_TTL_MS ahead (ExpiryTooLate)', async () => {
    const key = generateSigner()
    const right = await grantName({ issuer: authority, audience: key.did, name, expiration: nowSeconds() + 20 * 365 * 86_400 })
    const { conn } = await agentOn(key)
    const tenYears = await handSigned(key, authority.did, right, nowSeconds() + 10 * 365 * 86_400, 1)
    const err = await rejectsWithCode(registerRecord(conn, tenYears), 'PERMISSION_DENIED')
    assert.match(err.message, /ExpiryTooLate/)
    assert.throws(() => verifyNameRecord(tenYears, { trust }), { code: 'PERMISSION_DENIED' })
    await rejectsWithCode(signNameRecord({ signer: key, name, addrs: [], ttl: MAX_RECORD_TTL_MS + 1, proofs: [right] }), 'INVALID_ARGUMENT')
  })

  it('refuses a record that outlives the naming right it rests on; signNameRecord ends one with its right', async () => {
    const key = generateSigner()
    const rightExp = nowSeconds() + 600
    const right = await grantName({ issuer: authority, audience: key.did, name, expiration: rightExp })
    const { conn } = await agentOn(key)
    const err = await rejectsWithCode(registerRecord(conn, await handSigned(key, authority.did, right, rightExp + 600, 1)), 'PERMISSION_DENIED')
    assert.match(err.message, /ExpiryTooLate/)
    // signNameRecord ends the record with its right
    const exp = await registerRecord(conn, await signNameRecord({ signer: key, name, addrs: [], ttl: MAX_RECORD_TTL_MS, proofs: [right] }))
    assert.equal(exp, rightExp * 1000)
  })

  it('lets the new holder register once the old holder\'s right is revoked, and stops serving the revoked record', async () => {
    const keyA = generateSigner()
    const rightA = await grantName({ issuer: authority, audience: keyA.did, name, expiration: nowSeconds() + 3_600 })
    const a = await agentOn(keyA)
    const stolen = await signNameRecord({ signer: keyA, name, addrs: [], seq: Number.MAX_SAFE_INTEGER, ttl: MAX_RECORD_TTL_MS, proofs: [rightA] })
    await registerRecord(a.conn, stolen)
    revoked.revoke(rightA.cid)
    await rejectsWithCode(lookupRecord(a.conn, name), 'NOT_FOUND')

    const keyB = generateSigner()
    const rightB = await grantName({ issuer: authority, audience: keyB.did, name, expiration: nowSeconds() + 3_600 })
    const b = await agentOn(keyB)
    await registerRecord(b.conn, await signNameRecord({ signer: keyB, name, addrs: [], ttl: 300_000, proofs: [rightB] }))
    const served = verifyNameRecord(await lookupRecord(b.conn, name), { trust, revoked })
    assert.equal(served.peer, b.node.peerId.toString())
  })

  it('stops admitting a peer for reservations once its naming right is revoked', async () => {
    const key = generateSigner()
    const right = await grantName({ issuer: authority, audience: key.did, name, expiration: nowSeconds() + 3_600 })
    const { node } = await agentOn(key)
    const signed = await signNameRecord({ signer: key, name, addrs: [], ttl: MAX_RECORD_TTL_MS, proofs: [right] })
    await node.handle(ADMISSION_PROTOCOL, (s) => void answerAdmission(s, signed).catch(() => {}), { runOnLimitedConnection: true })
    assert.equal(await relay.admission.admits(node.peerId), true)
    revoked.revoke(right.cid)
    assert.equal(await relay.admission.admits(node.peerId), false)
    assert.match(relay.admission.refusals.get(node.peerId.toString()) ?? '', /Revoked/)
  })

  it('remembers at most MAX_ADMISSION_ENTRIES refusals however many peers it refuses', async () => {
    const strangers = await Promise.all(
      Array.from({ length: MAX_ADMISSION_ENTRIES + 50 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')))
    )
    for (const peer of strangers) assert.equal(await relay.admission.admits(peer), false)
    assert.equal(relay.admission.refusals.size, MAX_ADMISSION_ENTRIES)
    assert.ok(relay.admission.refusals.has(strangers.at(-1)!.toString()), 'the latest refusal is kept')
  })
})

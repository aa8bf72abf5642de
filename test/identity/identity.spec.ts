import assert from 'node:assert/strict'
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { after, before, describe, it } from 'mocha'
import { MeshError } from '../../src/errors.ts'
import {
  didFromPeerId,
  didFromPublicKey,
  generateSigner,
  isEd25519Did,
  loadKey,
  peerIdFromDid,
  publicKeyFromDid,
  saveKey,
  signerFromPrivateKey,
  signerFromSeed,
  tryPublicKeyFromDid,
  verifyDidSignature,
  verifyEd25519
} from '../../src/identity/index.ts'

describe('identity: Ed25519 principals', () => {
  it('derives the did:key of the spec fixtures from their seeds', () => {
    // bob in ucan-wg/spec fixtures/1.0.0/delegation.json
    const seed = Buffer.from('gCZfj9+RzU2U518TMBNK/fjdGQz34sB4iKE6z+9lQDpCIQ==', 'base64').subarray(2)
    assert.equal(
      signerFromSeed(new Uint8Array(seed)).did,
      'did:key:z6MkmT9j6fVZqzXV8u2wVVSu49gYSRYGSQnduWXF6foAJrqz'
    )
  })

  it('converts did:key to PeerId and back without loss', async () => {
    const key = await generateKeyPair('Ed25519')
    const peer = peerIdFromPrivateKey(key)
    const did = didFromPeerId(peer)
    assert.ok(did.startsWith('did:key:z6Mk'))
    assert.equal(peerIdFromDid(did).toString(), peer.toString())
    assert.equal(didFromPeerId(peer.toString()), did)
    assert.deepEqual(publicKeyFromDid(did), key.publicKey.raw)
    assert.equal(didFromPublicKey(key.publicKey.raw), did)
  })

  it('signs like libp2p does with the same key (node:crypto, deterministic Ed25519)', async () => {
    const key = await generateKeyPair('Ed25519')
    const signer = signerFromPrivateKey(key)
    const data = new TextEncoder().encode('hello')
    assert.deepEqual(signer.sign(data), new Uint8Array(await key.sign(data)))
    assert.equal(signer.did, didFromPeerId(peerIdFromPrivateKey(key)))
    assert.ok(signer.toPrivateKey().equals(key))
  })

  it('verifies its own signatures and refuses altered data, keys and signatures', () => {
    const alice = generateSigner()
    const bob = generateSigner()
    const data = new TextEncoder().encode('scale to 3')
    const sig = alice.sign(data)
    assert.equal(verifyDidSignature(alice.did, data, sig), true)
    assert.equal(verifyDidSignature(bob.did, data, sig), false)
    assert.equal(verifyDidSignature(alice.did, new TextEncoder().encode('scale to 30'), sig), false)
    const bad = Uint8Array.from(sig)
    bad[0]! ^= 1
    assert.equal(verifyDidSignature(alice.did, data, bad), false)
    assert.equal(verifyEd25519(alice.publicKey, data, sig.subarray(0, 63)), false)
    assert.equal(verifyDidSignature('did:key:nope', data, sig), false)
  })

  it('refuses other key types and malformed did strings without throwing from the try-variant', async () => {
    const secp = await generateKeyPair('secp256k1')
    assert.throws(
      () => didFromPeerId(peerIdFromPrivateKey(secp)),
      (e: unknown) => MeshError.is(e, 'INVALID_ARGUMENT')
    )
    assert.throws(
      () => signerFromPrivateKey(secp),
      (e: unknown) => MeshError.is(e, 'INVALID_ARGUMENT')
    )
    for (const bad of [
      '',
      'did:web:example.com',
      'did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme',
      'did:key:z6Mk!!',
      42
    ]) {
      assert.equal(tryPublicKeyFromDid(bad as string), undefined)
      assert.equal(isEd25519Did(bad), false)
    }
    assert.throws(
      () => publicKeyFromDid('did:web:example.com'),
      (e: unknown) => MeshError.is(e, 'INVALID_ARGUMENT')
    )
    assert.throws(
      () => signerFromSeed(new Uint8Array(31)),
      (e: unknown) => MeshError.is(e, 'INVALID_ARGUMENT')
    )
  })

  describe('key files', () => {
    let dir = ''
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'agentmesh-identity-'))
    })
    after(async () => {
      await rm(dir, { recursive: true, force: true })
    })

    it('saves a key readable by its owner only and loads the same principal', async () => {
      const signer = generateSigner()
      const path = join(dir, 'key')
      await saveKey(path, signer)
      assert.equal((await stat(path)).mode & 0o777, 0o600)
      const loaded = await loadKey(path)
      assert.equal(loaded.did, signer.did)
      await saveKey(path, await generateKeyPair('Ed25519'))
      assert.notEqual((await loadKey(path)).did, signer.did)
    })

    it('refuses to load a key file that group or others can read', async () => {
      const path = join(dir, 'open-key')
      await saveKey(path, generateSigner())
      await chmod(path, 0o644)
      await assert.rejects(loadKey(path), (e: unknown) => MeshError.is(e, 'FAILED_PRECONDITION'))
      await chmod(path, 0o640)
      await assert.rejects(loadKey(path), (e: unknown) => MeshError.is(e, 'FAILED_PRECONDITION'))
    })

    it('refuses a file that is not a libp2p Ed25519 key', async () => {
      const path = join(dir, 'garbage')
      await writeFile(path, 'not a key', { mode: 0o600 })
      await assert.rejects(loadKey(path), (e: unknown) => MeshError.is(e, 'INVALID_ARGUMENT'))
    })
  })
})

import { createPrivateKey, createPublicKey, type KeyObject, randomBytes, sign, verify } from 'node:crypto'
import { MeshError } from '../errors.ts'
import {
  ED25519_PUBLIC_KEY_BYTES,
  ED25519_SEED_BYTES,
  ED25519_SIGNATURE_BYTES,
  PKCS8_ED25519_PREFIX,
  SPKI_ED25519_PREFIX,
  VERIFY_KEY_CACHE_SIZE
} from './constants.ts'

// Ed25519 with Node's native implementation (OpenSSL), on raw 32-byte keys.

function concat(prefix: Readonly<Uint8Array>, raw: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(prefix.length + raw.length)
  out.set(prefix, 0)
  out.set(raw, prefix.length)
  return out
}

/**
 * A fresh random 32-byte Ed25519 seed (secret: whoever holds it can sign as its key).
 *
 * @example
 * ```ts
 * import { generateSeed, signerFromSeed } from 'agentmesh/identity'
 *
 * const seed = generateSeed()
 * console.log(seed.length)                                          // 32
 * console.log(signerFromSeed(seed).did === signerFromSeed(seed).did) // true: the seed is the key
 * ```
 */
export function generateSeed(): Uint8Array {
  return new Uint8Array(randomBytes(ED25519_SEED_BYTES))
}

/** Wrap a raw 32-byte seed into a native private KeyObject. */
export function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  if (!(seed instanceof Uint8Array) || seed.length !== ED25519_SEED_BYTES) {
    throw new MeshError('INVALID_ARGUMENT', `an Ed25519 seed is ${ED25519_SEED_BYTES} bytes`)
  }
  return createPrivateKey({ key: concat(PKCS8_ED25519_PREFIX, seed), format: 'der', type: 'pkcs8' })
}

/** Wrap a raw 32-byte public key into a native public KeyObject. */
export function publicKeyObject(publicKey: Uint8Array): KeyObject {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_BYTES) {
    throw new MeshError('INVALID_ARGUMENT', `an Ed25519 public key is ${ED25519_PUBLIC_KEY_BYTES} bytes`)
  }
  return createPublicKey({ key: concat(SPKI_ED25519_PREFIX, publicKey), format: 'der', type: 'spki' })
}

/** The raw 32-byte public key of a native Ed25519 private KeyObject. */
export function rawPublicKey(privateKey: KeyObject): Uint8Array {
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
  return new Uint8Array(spki.subarray(spki.length - ED25519_PUBLIC_KEY_BYTES))
}

/**
 * The raw 32-byte public key that belongs to a seed.
 *
 * @throws {MeshError} `INVALID_ARGUMENT` when `seed` is not 32 bytes
 * @example
 * ```ts
 * import { didFromPublicKey, generateSeed, publicKeyFromSeed, signerFromSeed } from 'agentmesh/identity'
 *
 * const seed = generateSeed()
 * const publicKey = publicKeyFromSeed(seed)
 * console.log(publicKey.length)                                       // 32
 * console.log(didFromPublicKey(publicKey) === signerFromSeed(seed).did) // true
 * ```
 */
export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  return rawPublicKey(privateKeyFromSeed(seed))
}

/** Sign `data` with a native Ed25519 private key; returns the 64-byte signature. */
export function signEd25519(privateKey: KeyObject, data: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, data, privateKey))
}

const keyCache = new Map<string, KeyObject>()

function cachedPublicKey(publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('latin1')
  let key = keyCache.get(id)
  if (key === undefined) {
    key = publicKeyObject(publicKey)
    if (keyCache.size >= VERIFY_KEY_CACHE_SIZE) {
      const oldest = keyCache.keys().next().value
      if (oldest !== undefined) keyCache.delete(oldest)
    }
    keyCache.set(id, key)
  }
  return key
}

/**
 * Verify an Ed25519 signature. Never throws: a malformed key or signature reads as `false`.
 * Public keys are turned into native KeyObjects once and kept in a small bounded cache.
 *
 * @example
 * ```ts
 * import { generateSigner, verifyEd25519 } from 'agentmesh/identity'
 *
 * const alice = generateSigner()
 * const data = new TextEncoder().encode('hello')
 * const signature = alice.sign(data)
 * console.log(verifyEd25519(alice.publicKey, data, signature))                             // true
 * console.log(verifyEd25519(alice.publicKey, new TextEncoder().encode('hullo'), signature)) // false
 * ```
 */
export function verifyEd25519(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== ED25519_SIGNATURE_BYTES) return false
  try {
    return verify(null, data, cachedPublicKey(publicKey), signature)
  } catch {
    return false
  }
}

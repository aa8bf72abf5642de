import type { KeyObject } from 'node:crypto'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey, PrivateKey } from '@libp2p/interface'
import { MeshError } from '../errors.ts'
import { ED25519_SEED_BYTES } from './constants.ts'
import { didFromPublicKey } from './did.ts'
import { generateSeed, privateKeyFromSeed, rawPublicKey, signEd25519 } from './ed25519.ts'

/**
 * A principal that can sign: its `did:key` and a signing function. Signing may be asynchronous
 * (hardware keys, remote signers); the ones made here sign synchronously with node:crypto.
 */
export interface Signer {
  /** The signer's `did:key:z6Mk…`. */
  readonly did: string
  /** The signature algorithm; only Ed25519 is supported. */
  readonly algorithm: 'Ed25519'
  /** Sign bytes; returns the 64-byte Ed25519 signature. */
  sign(data: Uint8Array): Uint8Array | Promise<Uint8Array>
}

/** A {@link Signer} backed by a local Ed25519 key, whose public key and seed are at hand. */
export interface Ed25519Signer extends Signer {
  /** The raw 32-byte public key. */
  readonly publicKey: Uint8Array
  /** The raw 32-byte seed (secret). */
  readonly seed: Uint8Array
  /** Sign synchronously. */
  sign(data: Uint8Array): Uint8Array
  /** The same key as a libp2p private key, e.g. to start a libp2p node with it. */
  toPrivateKey(): Ed25519PrivateKey
}

class LocalSigner implements Ed25519Signer {
  readonly did: string
  readonly algorithm = 'Ed25519' as const
  readonly publicKey: Uint8Array
  readonly seed: Uint8Array
  readonly #key: KeyObject

  constructor(seed: Uint8Array) {
    this.#key = privateKeyFromSeed(seed)
    this.seed = Uint8Array.from(seed)
    this.publicKey = rawPublicKey(this.#key)
    this.did = didFromPublicKey(this.publicKey)
  }

  sign(data: Uint8Array): Uint8Array {
    return signEd25519(this.#key, data)
  }

  toPrivateKey(): Ed25519PrivateKey {
    const raw = new Uint8Array(64)
    raw.set(this.seed, 0)
    raw.set(this.publicKey, 32)
    const key = privateKeyFromRaw(raw)
    if (key.type !== 'Ed25519') throw new MeshError('INTERNAL', 'unexpected key type')
    return key
  }

  toJSON(): { did: string } {
    return { did: this.did }
  }
}

/**
 * A signer from a raw 32-byte Ed25519 seed. The native key is derived once and reused.
 *
 * @example
 * ```ts
 * const alice = signerFromSeed(seed)
 * alice.did // 'did:key:z6Mk…'
 * ```
 */
export function signerFromSeed(seed: Uint8Array): Ed25519Signer {
  if (!(seed instanceof Uint8Array) || seed.length !== ED25519_SEED_BYTES) {
    throw new MeshError('INVALID_ARGUMENT', `an Ed25519 seed is ${ED25519_SEED_BYTES} bytes`)
  }
  return new LocalSigner(seed)
}

/**
 * A signer from a libp2p private key (`generateKeyPair('Ed25519')` from `@libp2p/crypto/keys`).
 *
 * @example
 * ```ts
 * const key = await generateKeyPair('Ed25519')
 * const signer = signerFromPrivateKey(key)
 * ```
 */
export function signerFromPrivateKey(key: PrivateKey): Ed25519Signer {
  if (key.type !== 'Ed25519') throw new MeshError('INVALID_ARGUMENT', 'only Ed25519 keys can sign UCANs')
  return new LocalSigner(key.raw.subarray(0, ED25519_SEED_BYTES))
}

/**
 * A signer with a fresh random key.
 *
 * @example
 * ```ts
 * const bob = generateSigner()
 * ```
 */
export function generateSigner(): Ed25519Signer {
  return new LocalSigner(generateSeed())
}

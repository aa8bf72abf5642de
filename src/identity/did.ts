import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import type { Ed25519PeerId, PeerId } from '@libp2p/interface'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { base58btc } from 'multiformats/bases/base58'
import { MeshError } from '../errors.ts'
import { ED25519_PUB_PREFIX, ED25519_PUBLIC_KEY_BYTES } from './constants.ts'
import { verifyEd25519 } from './ed25519.ts'

const DID_KEY = 'did:key:'

/**
 * The `did:key` of a raw 32-byte Ed25519 public key.
 *
 * @example
 * ```ts
 * didFromPublicKey(publicKey) // 'did:key:z6Mk…'
 * ```
 */
export function didFromPublicKey(publicKey: Uint8Array): string {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_BYTES) {
    throw new MeshError('INVALID_ARGUMENT', `an Ed25519 public key is ${ED25519_PUBLIC_KEY_BYTES} bytes`)
  }
  const bytes = new Uint8Array(ED25519_PUB_PREFIX.length + publicKey.length)
  bytes.set(ED25519_PUB_PREFIX, 0)
  bytes.set(publicKey, ED25519_PUB_PREFIX.length)
  return DID_KEY + base58btc.encode(bytes)
}

/**
 * The raw 32-byte Ed25519 public key inside a `did:key`, or `undefined` when the string is not an
 * Ed25519 `did:key` (other key types, other methods, bad encoding). Never throws.
 *
 * @example
 * ```ts
 * const pk = tryPublicKeyFromDid('did:key:z6Mk…') // Uint8Array(32) | undefined
 * ```
 */
export function tryPublicKeyFromDid(did: string): Uint8Array | undefined {
  if (typeof did !== 'string' || !did.startsWith(DID_KEY + 'z') || did.length > 128) return undefined
  let bytes: Uint8Array
  try {
    bytes = base58btc.decode(did.slice(DID_KEY.length))
  } catch {
    return undefined
  }
  if (bytes.length !== ED25519_PUB_PREFIX.length + ED25519_PUBLIC_KEY_BYTES) return undefined
  if (bytes[0] !== ED25519_PUB_PREFIX[0] || bytes[1] !== ED25519_PUB_PREFIX[1]) return undefined
  return bytes.subarray(ED25519_PUB_PREFIX.length)
}

/**
 * The raw 32-byte Ed25519 public key inside a `did:key`; throws `INVALID_ARGUMENT` otherwise.
 *
 * @example
 * ```ts
 * publicKeyFromDid('did:key:z6MkmT9j6fVZqzXV8u2wVVSu49gYSRYGSQnduWXF6foAJrqz').length // 32
 * ```
 */
export function publicKeyFromDid(did: string): Uint8Array {
  const key = tryPublicKeyFromDid(did)
  if (key === undefined) throw new MeshError('INVALID_ARGUMENT', 'not an Ed25519 did:key')
  return key
}

/**
 * True when `did` is a well-formed Ed25519 `did:key`; never throws.
 *
 * @example
 * ```ts
 * import { generateSigner, isEd25519Did } from 'agentmesh/identity'
 *
 * console.log(isEd25519Did(generateSigner().did)) // true
 * console.log(isEd25519Did('did:web:acme.example')) // false
 * ```
 */
export function isEd25519Did(did: unknown): did is string {
  return typeof did === 'string' && tryPublicKeyFromDid(did) !== undefined
}

/**
 * The `did:key` of an Ed25519 libp2p PeerId (`12D3KooW…`). Both hold the same 32-byte key.
 *
 * @example
 * ```ts
 * didFromPeerId(peerIdFromString('12D3KooW…')) // 'did:key:z6Mk…'
 * ```
 */
export function didFromPeerId(peerId: PeerId | string): string {
  const id = typeof peerId === 'string' ? parsePeerId(peerId) : peerId
  if (id.type !== 'Ed25519' || id.publicKey === undefined) {
    throw new MeshError('INVALID_ARGUMENT', 'only Ed25519 peer ids have a did:key')
  }
  return didFromPublicKey(id.publicKey.raw)
}

/**
 * The libp2p PeerId of an Ed25519 `did:key`.
 *
 * @example
 * ```ts
 * peerIdFromDid('did:key:z6Mk…').toString() // '12D3KooW…'
 * ```
 */
export function peerIdFromDid(did: string): Ed25519PeerId {
  const key = publicKeyFromRaw(publicKeyFromDid(did))
  if (key.type !== 'Ed25519') throw new MeshError('INVALID_ARGUMENT', 'not an Ed25519 did:key')
  return peerIdFromPublicKey(key)
}

function parsePeerId(str: string): PeerId {
  try {
    return peerIdFromString(str)
  } catch (err) {
    throw new MeshError('INVALID_ARGUMENT', 'not a peer id', { cause: err })
  }
}

/**
 * Verify an Ed25519 signature made by the key of a `did:key`. Never throws; `false` for any
 * malformed input.
 *
 * @example
 * ```ts
 * verifyDidSignature(alice.did, bytes, alice.sign(bytes)) // true
 * ```
 */
export function verifyDidSignature(did: string, data: Uint8Array, signature: Uint8Array): boolean {
  const key = tryPublicKeyFromDid(did)
  return key !== undefined && verifyEd25519(key, data, signature)
}

/**
 * Identity: every principal of agentmesh is an Ed25519 key. A libp2p PeerId (`12D3KooW…`) and a
 * UCAN `did:key:z6Mk…` hold the same 32-byte public key, so one converts to the other without loss.
 *
 * @example
 * ```ts
 * import { generateSigner, didFromPeerId, peerIdFromDid } from 'agentmesh/identity'
 *
 * const alice = generateSigner()
 * const peer = peerIdFromDid(alice.did)         // 12D3KooW…
 * didFromPeerId(peer) === alice.did            // true
 * ```
 *
 * @packageDocumentation
 */

export {
  DID_KEY_ED25519_PREFIX,
  ED25519_PUBLIC_KEY_BYTES,
  ED25519_SEED_BYTES,
  ED25519_SIGNATURE_BYTES,
  KEY_FILE_MODE
} from './constants.ts'
export {
  didFromPeerId,
  didFromPublicKey,
  isEd25519Did,
  peerIdFromDid,
  publicKeyFromDid,
  tryPublicKeyFromDid,
  verifyDidSignature
} from './did.ts'
export { generateSeed, publicKeyFromSeed, verifyEd25519 } from './ed25519.ts'
export { loadKey, saveKey } from './keyfile.ts'
export type { Ed25519Signer, Signer } from './signer.ts'
export { generateSigner, signerFromPrivateKey, signerFromSeed } from './signer.ts'

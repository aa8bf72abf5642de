/** Multicodec code of an Ed25519 public key (`ed25519-pub`), as a varint prefix in `did:key`. */
export const ED25519_PUB_MULTICODEC = 0xed

/** The varint bytes of {@link ED25519_PUB_MULTICODEC}. */
export const ED25519_PUB_PREFIX: Readonly<Uint8Array> = Uint8Array.of(0xed, 0x01)

/** Every Ed25519 `did:key` starts with this (base58btc of the `ed25519-pub` prefix). */
export const DID_KEY_ED25519_PREFIX = 'did:key:z6Mk'

/** Length of a raw Ed25519 public key, in bytes. */
export const ED25519_PUBLIC_KEY_BYTES = 32

/** Length of a raw Ed25519 private seed, in bytes (what {@link generateSeed} returns). */
export const ED25519_SEED_BYTES = 32

/** Length of an Ed25519 signature, in bytes. */
export const ED25519_SIGNATURE_BYTES = 64

/** DER prefix that wraps a raw 32-byte Ed25519 public key into SubjectPublicKeyInfo. */
export const SPKI_ED25519_PREFIX: Readonly<Uint8Array> = Uint8Array.from([
  0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00
])

/** DER prefix that wraps a raw 32-byte Ed25519 seed into PKCS#8. */
export const PKCS8_ED25519_PREFIX: Readonly<Uint8Array> = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20
])

/** File mode of a saved key file: read and write by the owner only. */
export const KEY_FILE_MODE = 0o600

/** How many verification keys {@link verifyEd25519} keeps ready (one KeyObject per did). */
export const VERIFY_KEY_CACHE_SIZE = 1024

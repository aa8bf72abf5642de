import { createPrivateKey, createPublicKey, createSecretKey, diffieHellman, generateKeyPairSync, hkdfSync, type KeyObject } from 'node:crypto'
import { ChaCha20Poly1305, newInstance } from '@chainsafe/as-chacha20poly1305'
import { type ICryptoInterface, noise } from '@chainsafe/libp2p-noise'
import { defaultCrypto, nodeCrypto } from '@chainsafe/libp2p-noise/crypto'
import { MeshError } from '../errors.ts'
import { privateKeyFromSeed, signEd25519 } from '../identity/ed25519.ts'
import type { PrivateKey } from '@libp2p/interface'

type NoiseFactory = ReturnType<typeof noise>
type NoiseEncrypter = ReturnType<NoiseFactory>
type Secured = Awaited<ReturnType<NoiseEncrypter['secureOutbound']>>

/** The parts of `@libp2p/utils`' LengthPrefixedDecoder (as noise 17 sets it up) that are used here. */
interface FrameDecoder {
  buffer: {
    byteLength: number
    append(chunk: unknown): void
    get(index: number): number
    sublist(begin: number, end: number): unknown
    consume(bytes: number): void
  }
  maxBufferSize: number
  maxDataLength: number
  decode: (chunk: unknown) => Iterable<unknown>
}

function isFrameDecoder(value: unknown): value is FrameDecoder {
  const d = value as Partial<FrameDecoder> | undefined
  return (
    typeof d?.decode === 'function' &&
    typeof d.maxBufferSize === 'number' &&
    typeof d.maxDataLength === 'number' &&
    typeof d.buffer?.append === 'function' &&
    typeof d.buffer.get === 'function' &&
    typeof d.buffer.sublist === 'function' &&
    typeof d.buffer.consume === 'function'
  )
}

/**
 * Split the buffered bytes into noise transport frames (a 2-byte big-endian length, then the frame),
 * as the library's decoder does, with the same limits; when a frame is incomplete it returns instead
 * of throwing.
 */
function* decodeFrames(this: FrameDecoder, chunk: unknown): Generator<unknown, void, undefined> {
  const buffer = this.buffer
  buffer.append(chunk)
  if (buffer.byteLength > this.maxBufferSize) {
    throw new MeshError('RESOURCE_EXHAUSTED', `noise read buffer over ${this.maxBufferSize} bytes`)
  }
  while (buffer.byteLength >= 2) {
    const length = (buffer.get(0) << 8) | buffer.get(1)
    if (length > this.maxDataLength) throw new MeshError('INVALID_ARGUMENT', `noise frame of ${length} bytes`)
    const end = 2 + length
    if (buffer.byteLength < end) return
    const frame = buffer.sublist(2, end)
    buffer.consume(end)
    if (length > 0) yield frame
  }
}

/** Encrypted output up to this size goes to the transport as one buffer (one socket write). */
const ONE_WRITE_BYTES = 256 * 1024

/** The parts of noise 17's encrypted connection that the write path below uses. */
interface EncryptingStream {
  encrypt(data: unknown): { byteLength: number; subarray(): Uint8Array }
  handshake: { encrypt(plaintext: unknown): Uint8Array }
  stream: { send(data: unknown): boolean }
  sendData(data: { byteLength: number }): { sentBytes: number; canSendMore: boolean }
  metrics?: unknown
}

function isEncryptingStream(value: unknown): value is EncryptingStream {
  const c = value as Partial<EncryptingStream> | undefined
  return (
    typeof c?.encrypt === 'function' &&
    typeof c.sendData === 'function' &&
    typeof c.stream?.send === 'function' &&
    typeof c.handshake?.encrypt === 'function'
  )
}

/** Noise's frame length prefix: 2 bytes, big-endian, in front of every transport message. */
const PREFIX_BYTES = 2
/** ChaCha20-Poly1305's tag. */
const TAG_BYTES = 16

/**
 * The last small frame encrypted into a buffer with room for its length prefix in front, by
 * {@link sessionKeyCrypto}: `sendWhole` writes the prefix there and sends the buffer as it is.
 */
let framed: Uint8Array | undefined

/**
 * Hand the transport each encrypted write as one buffer. noise 17 passes a list of pieces (each
 * frame's length prefix, the ciphertext in parts, the tag), and the TCP transport writes every piece
 * to the socket on its own: about five send() system calls per noise frame. A write that is one small
 * frame is encrypted straight into the buffer that goes to the socket, after room for its prefix.
 */
function sendWhole(this: EncryptingStream, data: { byteLength: number }): { sentBytes: number; canSendMore: boolean } {
  if (data.byteLength < WASM_BELOW_BYTES && this.metrics === undefined) {
    framed = undefined
    const ciphertext = this.handshake.encrypt(data)
    const frame = framed as Uint8Array | undefined
    framed = undefined
    if (frame !== undefined && ciphertext.byteOffset === frame.byteOffset + PREFIX_BYTES && ciphertext.buffer === frame.buffer) {
      frame[0] = ciphertext.byteLength >>> 8
      frame[1] = ciphertext.byteLength & 0xff
      return { sentBytes: data.byteLength, canSendMore: this.stream.send(frame) }
    }
    const prefixed = new Uint8Array(PREFIX_BYTES + ciphertext.byteLength)
    prefixed[0] = ciphertext.byteLength >>> 8
    prefixed[1] = ciphertext.byteLength & 0xff
    prefixed.set(ciphertext, PREFIX_BYTES)
    return { sentBytes: data.byteLength, canSendMore: this.stream.send(prefixed) }
  }
  const encrypted = this.encrypt(data)
  return {
    sentBytes: data.byteLength,
    canSendMore: this.stream.send(encrypted.byteLength <= ONE_WRITE_BYTES ? encrypted.subarray() : encrypted)
  }
}

/** Tune the write and read paths of a new noise connection, where they have the expected shape. */
function tune(secured: Secured): Secured {
  const connection = secured.connection as unknown as { decoder?: unknown }
  if (isFrameDecoder(connection.decoder)) connection.decoder.decode = decodeFrames
  if (isEncryptingStream(connection)) connection.sendData = sendWhole
  return secured
}

/** Below this many bytes noise's default crypto uses its WebAssembly ChaCha20-Poly1305, as it does. */
const WASM_BELOW_BYTES = 1200

/** The session keys in use, imported once each (a cipher state keeps its key array for its life). */
const keyObjects = new WeakMap<Uint8Array, KeyObject>()

function keyObject(k: Uint8Array): KeyObject {
  let key = keyObjects.get(k)
  if (key === undefined) {
    key = createSecretKey(k)
    keyObjects.set(k, key)
  }
  return key
}

/** A key as noise hands it over: its own keys are arrays, a remote key may be a list (a slice of a message). */
type KeyBytes = Uint8Array | { subarray(): Uint8Array }

function bytesOf(key: KeyBytes): Uint8Array {
  return key instanceof Uint8Array ? key : key.subarray()
}

/** PKCS #8 DER in front of a raw 32-byte X25519 private key (RFC 8410), as noise's own import uses. */
const X25519_PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20])

/**
 * Native X25519 keys (private, public) by the key object noise holds. A handshake uses each key in
 * more than one Diffie-Hellman (its ephemeral key twice, the static key in every handshake, the
 * remote's ephemeral key twice), and noise's default crypto imported both keys from DER for every
 * one. Weak: an entry goes with the handshake state that holds its key.
 */
const x25519PrivateKeys = new WeakMap<object, KeyObject>()
const x25519PublicKeys = new WeakMap<object, KeyObject>()

function x25519Private(key: KeyBytes): KeyObject {
  let native = x25519PrivateKeys.get(key)
  if (native === undefined) {
    const raw = bytesOf(key)
    const der = new Uint8Array(X25519_PKCS8_PREFIX.length + raw.length)
    der.set(X25519_PKCS8_PREFIX, 0)
    der.set(raw, X25519_PKCS8_PREFIX.length)
    native = createPrivateKey({ key: Buffer.from(der.buffer, der.byteOffset, der.byteLength), format: 'der', type: 'pkcs8' })
    x25519PrivateKeys.set(key, native)
  }
  return native
}

function x25519Public(key: KeyBytes): KeyObject {
  let native = x25519PublicKeys.get(key)
  if (native === undefined) {
    const raw = bytesOf(key)
    const x = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64url')
    native = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' })
    x25519PublicKeys.set(key, native)
  }
  return native
}

/** SHA-256's output, and so each of noise's HKDF outputs. */
const HASH_BYTES = 32
const EMPTY = new Uint8Array(0)

/** Our own instance of the WebAssembly ChaCha20-Poly1305 noise uses for small frames. */
const smallFrames = new ChaCha20Poly1305(newInstance())

/**
 * noise's default crypto, with four changes:
 *
 * - HKDF: Node's native HKDF-SHA256 where noise used a JavaScript one. The same bytes; on a cold call
 *   the JavaScript hash ran barely compiled (0.76 ms per cold call in a profile of the caller);
 * - X25519: each key is imported into a native key once and kept while noise holds it (a new
 *   ephemeral key is generated as a native key), where the library imported both keys from DER for
 *   every Diffie-Hellman: 0.20-0.23 instead of 0.55-0.63 ms for one side's key generation and three
 *   Diffie-Hellmans on this machine;
 * - a frame under 1200 bytes is encrypted (by the same WebAssembly ChaCha20-Poly1305) into a pooled
 *   buffer with room for its length prefix in front, where the library allocated a zero-filled
 *   array for each ciphertext and a third buffer to join prefix and ciphertext;
 * - the node:crypto ChaCha20-Poly1305 used for frames of 1200 bytes and more gets the session key as
 *   a KeyObject imported once, not as bytes imported on every frame: 8.4 instead of 18.9 us for a
 *   4 KiB frame on this machine.
 */
export const sessionKeyCrypto: ICryptoInterface = {
  ...defaultCrypto,
  generateX25519KeyPair() {
    const { privateKey } = generateKeyPairSync('x25519')
    const jwk = privateKey.export({ format: 'jwk' })
    if (typeof jwk.d !== 'string' || typeof jwk.x !== 'string') throw new MeshError('INTERNAL', 'X25519 key export without d or x')
    const raw = new Uint8Array(Buffer.from(jwk.d, 'base64url'))
    x25519PrivateKeys.set(raw, privateKey)
    return { privateKey: raw, publicKey: new Uint8Array(Buffer.from(jwk.x, 'base64url')) }
  },
  generateX25519SharedKey(privateKey, publicKey) {
    return diffieHellman({ privateKey: x25519Private(privateKey), publicKey: x25519Public(publicKey) })
  },
  getHKDF(ck, ikm) {
    // HKDF-SHA256 (RFC 5869) with the chaining key as salt and no info, three 32-byte outputs: what
    // noise's JavaScript HKDF computes, natively
    const okm = new Uint8Array(hkdfSync('sha256', ikm, ck, EMPTY, 3 * HASH_BYTES))
    return [okm.subarray(0, HASH_BYTES), okm.subarray(HASH_BYTES, 2 * HASH_BYTES), okm.subarray(2 * HASH_BYTES)]
  },
  chaCha20Poly1305Encrypt(plaintext, nonce, ad, k) {
    if (plaintext.byteLength < WASM_BELOW_BYTES) {
      // every byte of the frame is written below: the prefix by sendWhole (or dropped), the rest by seal
      const frame = Buffer.allocUnsafe(PREFIX_BYTES + plaintext.byteLength + TAG_BYTES)
      const ciphertext = smallFrames.seal(k, nonce, plaintext.subarray(), ad, frame.subarray(PREFIX_BYTES))
      framed = frame
      return ciphertext
    }
    return nodeCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, keyObject(k) as unknown as Uint8Array)
  },
  chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst) {
    if (ciphertext.byteLength < WASM_BELOW_BYTES) return defaultCrypto.chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst)
    return nodeCrypto.chaCha20Poly1305Decrypt(ciphertext, nonce, ad, keyObject(k) as unknown as Uint8Array, dst)
  }
}

/** The raw form of a libp2p Ed25519 private key: the 32-byte seed, then the 32-byte public key. */
const LIBP2P_ED25519_RAW_BYTES = 64

/**
 * The node's key as noise sees it: an Ed25519 key signs each handshake's payload with a native key
 * imported once, where `@libp2p/crypto` imported the key from JWK for every signature (102 instead
 * of 41 us on this machine). Ed25519 signatures are deterministic: the bytes are the same. Other
 * keys are left as they are.
 */
function signingOnce(key: PrivateKey): PrivateKey {
  if (key.type !== 'Ed25519' || key.raw.length !== LIBP2P_ED25519_RAW_BYTES) return key
  const native = privateKeyFromSeed(key.raw.subarray(0, 32))
  const signing = Object.create(key) as PrivateKey
  signing.sign = (message, options) => {
    options?.signal?.throwIfAborted()
    return signEd25519(native, message instanceof Uint8Array ? message : message.subarray())
  }
  return signing
}

/**
 * `@chainsafe/libp2p-noise` with five costs of noise 17 removed, same wire format:
 *
 * - Handshake: X25519 keys were imported from DER for every Diffie-Hellman, HKDF ran in JavaScript
 *   and the payload was signed with the node's key imported from JWK; here each key is imported once
 *   and HKDF is native (see {@link sessionKeyCrypto} and the signing key below). A cold call through
 *   a relay runs two handshakes, four sides in a row, each side in code that has barely run yet.
 * - Frames: the connection splits incoming bytes into frames with `@libp2p/utils`' length-prefixed
 *   decoder, which reads frame lengths until the length reader throws a RangeError, and noise's reader
 *   constructs a new one each time. Every received chunk ended with an exception and its stack trace:
 *   15.7 % of all CPU time in a profile of relayed calls. Here the decoder splits frames with a loop
 *   that stops when a frame is incomplete, with the same limits.
 * - Keys: frames of 1200 bytes and more were encrypted with the session key imported anew for each
 *   frame (about 10 us each); here it is imported once per session.
 * - Writes: each encrypted write reached the TCP transport as a list of pieces (length prefix,
 *   ciphertext parts, tag), and the transport wrote every piece to the socket on its own; here a
 *   write up to 256 KiB is one buffer, one socket write. At 64 calls in flight that was 0.71 socket
 *   writes per call before and 0.13 after.
 * - Small frames: each ciphertext was a new zero-filled array, then copied with its prefix into a
 *   third buffer for the socket; here a frame under 1200 bytes is encrypted straight into a pooled
 *   buffer that holds its prefix too, and that buffer goes to the socket. About 1.2 us per frame: 7 us
 *   of CPU per relayed call (relay, agent and caller together, in one process).
 *
 * A noise whose decoder changed shape keeps its own.
 *
 * @example
 * ```ts
 * import { createLibp2p } from 'libp2p'
 * import { tunedNoise } from './tuned-noise.ts'
 *
 * const node = await createLibp2p({ connectionEncrypters: [tunedNoise()] })
 * ```
 */
export function tunedNoise(init?: Parameters<typeof noise>[0]): NoiseFactory {
  const factory = noise({ crypto: sessionKeyCrypto, ...init })
  return (components) => {
    let key: PrivateKey | undefined
    const withKey = new Proxy(components, {
      get: (target, prop) => (prop === 'privateKey' ? (key ??= signingOnce(target.privateKey)) : Reflect.get(target, prop))
    })
    const encrypter = factory(withKey)
    const inbound = encrypter.secureInbound.bind(encrypter)
    const outbound = encrypter.secureOutbound.bind(encrypter)
    encrypter.secureInbound = (async (...args: Parameters<typeof inbound>) =>
      tune(await inbound(...args))) as typeof encrypter.secureInbound
    encrypter.secureOutbound = (async (...args: Parameters<typeof outbound>) =>
      tune(await outbound(...args))) as typeof encrypter.secureOutbound
    return encrypter
  }
}

import { createHash } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { DAG_CBOR_CODE, MAX_TOKEN_BYTES, SHA2_256_CODE } from './constants.ts'
import { UcanError } from './errors.ts'

/**
 * Strict DAG-CBOR: decoding refuses anything that is not the one canonical encoding of its value
 * (non-minimal integers, unsorted or duplicate map keys, short floats, indefinite lengths,
 * `undefined`, trailing bytes), because a token's CID and signature are over its exact bytes.
 */

/**
 * Encode an IPLD value as DAG-CBOR, in its one canonical form.
 *
 * @example
 * ```ts
 * import { decodeCanonical, encodeCbor, tokenCid } from 'agentmesh/ucan'
 *
 * const bytes = encodeCbor({ b: 1, a: [true, null] }) // map keys sorted, integers minimal
 * console.log(decodeCanonical(bytes)) // { a: [ true, null ], b: 1 }
 * console.log(tokenCid(bytes).toString().startsWith('bafy')) // true: a CIDv1 over the exact bytes
 * ```
 */
export function encodeCbor(value: unknown): Uint8Array {
  return dagCbor.encode(value)
}

/**
 * Decode DAG-CBOR bytes, refusing non-canonical encodings; throws `MalformedToken`.
 *
 * @example
 * ```ts
 * decodeCanonical(encodeCbor({ a: 1 })) // { a: 1 }
 * ```
 */
export function decodeCanonical(bytes: Uint8Array, maxBytes: number = MAX_TOKEN_BYTES): unknown {
  if (!(bytes instanceof Uint8Array)) throw new UcanError('MalformedToken', 'token must be bytes')
  if (bytes.length === 0) throw new UcanError('MalformedToken', 'token is empty')
  if (bytes.length > maxBytes) {
    throw new UcanError('MalformedToken', `token is larger than ${maxBytes} bytes`)
  }
  let value: unknown
  let again: Uint8Array
  try {
    value = dagCbor.decode(bytes)
    again = dagCbor.encode(value)
  } catch (err) {
    // includes RangeError from absurdly deep nesting: still a typed, handled failure
    throw new UcanError('MalformedToken', 'token is not valid DAG-CBOR', { cause: err })
  }
  if (!equalBytes(again, bytes)) {
    throw new UcanError('MalformedToken', 'token is not canonical DAG-CBOR')
  }
  return value
}

/** Byte-wise equality. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** The sha2-256 digest of bytes, with Node's native hash. */
export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest())
}

/** A compact cache key for token bytes: their sha2-256 digest in base64 (the CID's digest). */
export function digestKey(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64')
}

/**
 * The CIDv1 (dag-cbor, sha2-256) of token bytes: the token's id.
 *
 * @example
 * ```ts
 * tokenCid(bytes).toString() // 'bafyrei…'
 * ```
 */
export function tokenCid(bytes: Uint8Array): CID {
  return CID.createV1(DAG_CBOR_CODE, Digest.create(SHA2_256_CODE, sha256(bytes)))
}

/** True for a plain IPLD map (a non-null object that is not a list, bytes or a CID). */
export function isMap(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array) &&
    CID.asCID(value) === null
  )
}

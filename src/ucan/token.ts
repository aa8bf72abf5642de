import { verifyDidSignature } from '../identity/did.ts'
import { DELEGATION_TAGS, INVOCATION_TAGS } from './constants.ts'
import { type Delegation, delegationFromEnvelope } from './delegation.ts'
import { decodeEnvelope } from './envelope.ts'
import { type Invocation, invocationFromEnvelope } from './invocation.ts'

/** Any UCAN token this library reads. */
export type Token = Delegation | Invocation

const ALL_TAGS: readonly string[] = [...DELEGATION_TAGS, ...INVOCATION_TAGS]

/**
 * Decode a delegation or an invocation from its envelope bytes (the signature is not checked
 * here). Throws `UcanError` `MalformedToken` (code `INVALID_ARGUMENT`) on anything unreadable:
 * random bytes, truncation, non-canonical CBOR, an unsupported varsig or key type.
 *
 * @example
 * ```ts
 * const token = decode(bytes)
 * const cmd = token.type === 'delegation' ? token.payload.cmd : undefined
 * ```
 */
export function decode(bytes: Uint8Array): Token {
  const envelope = decodeEnvelope(bytes, ALL_TAGS)
  return DELEGATION_TAGS.includes(envelope.tag)
    ? delegationFromEnvelope(envelope)
    : invocationFromEnvelope(envelope)
}

/**
 * The envelope bytes of a token (what goes on the wire; its CID is over these bytes).
 *
 * @example
 * ```ts
 * decode(encode(dlg)).cid.equals(dlg.cid) // true
 * ```
 */
export function encode(token: Token): Uint8Array {
  return token.bytes
}

/**
 * True when the token's signature verifies against its issuer's `did:key`. Never throws.
 *
 * @example
 * ```ts
 * verifySignature(decode(bytes)) // true | false
 * ```
 */
export function verifySignature(token: Token): boolean {
  return verifyDidSignature(token.payload.iss, token.signedBytes, token.signature)
}

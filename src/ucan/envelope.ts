import type { Signer } from '../identity/signer.ts'
import { decodeCanonical, encodeCbor, isMap } from './cbor.ts'
import { UcanError } from './errors.ts'
import { ED25519_DAG_CBOR_VARSIG, isEd25519DagCborVarsig } from './varsig.ts'

/**
 * The UCAN envelope: DAG-CBOR `[signature, { h: varsig, "ucan/<tag>@<version>": payload }]`. The
 * signature is over the DAG-CBOR bytes of the second element (the signature payload).
 */
export interface Envelope {
  /** The raw signature bytes (any length on read; verification checks it). */
  readonly signature: Uint8Array
  /** The varsig header. */
  readonly header: Uint8Array
  /** The payload tag, e.g. `ucan/dlg@1.0.0`. */
  readonly tag: string
  /** The token payload (not yet checked against its schema). */
  readonly payload: Record<string, unknown>
  /** The exact bytes the signature covers. */
  readonly signedBytes: Uint8Array
  /** The whole envelope's bytes. */
  readonly bytes: Uint8Array
}

/**
 * Decode an envelope, strictly. Refuses non-canonical CBOR, a wrong shape, an unknown tag and any
 * varsig header other than Ed25519 over DAG-CBOR, all as `MalformedToken`.
 */
export function decodeEnvelope(bytes: Uint8Array, tags: readonly string[]): Envelope {
  const value = decodeCanonical(bytes)
  if (!Array.isArray(value) || value.length !== 2) {
    throw new UcanError('MalformedToken', 'envelope must be a 2-element array')
  }
  const [signature, sigPayload] = value as [unknown, unknown]
  if (!(signature instanceof Uint8Array))
    throw new UcanError('MalformedToken', 'envelope signature must be bytes')
  if (!isMap(sigPayload)) throw new UcanError('MalformedToken', 'envelope payload must be a map')
  const keys = Object.keys(sigPayload)
  if (keys.length !== 2 || !Object.hasOwn(sigPayload, 'h')) {
    throw new UcanError('MalformedToken', 'envelope payload must hold exactly `h` and one token')
  }
  const tag = keys[0] === 'h' ? keys[1]! : keys[0]!
  if (!tags.includes(tag))
    throw new UcanError('MalformedToken', `unexpected token type ${JSON.stringify(tag)}`)
  const header = sigPayload['h']
  if (!isEd25519DagCborVarsig(header)) {
    throw new UcanError('MalformedToken', 'unsupported varsig header (only Ed25519 over DAG-CBOR)')
  }
  const payload = sigPayload[tag]
  if (!isMap(payload)) throw new UcanError('MalformedToken', 'token payload must be a map')
  return {
    signature,
    header: header as Uint8Array,
    tag,
    payload,
    signedBytes: bytes.subarray(1 + byteStringLength(bytes, 1)),
    bytes
  }
}

/** Length of the CBOR byte-string item (header and content) starting at `offset`. */
function byteStringLength(bytes: Uint8Array, offset: number): number {
  const first = bytes[offset]!
  const info = first & 0x1f
  if (info < 24) return 1 + info
  if (info === 24) return 2 + bytes[offset + 1]!
  if (info === 25) return 3 + ((bytes[offset + 1]! << 8) | bytes[offset + 2]!)
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset + 1)
  return 5 + view.getUint32(0)
}

/** The signed part of a new token: `{ h, [tag]: payload }` and its bytes. */
export function signaturePayloadBytes(tag: string, payload: Record<string, unknown>): Uint8Array {
  return encodeCbor({ h: ED25519_DAG_CBOR_VARSIG, [tag]: payload })
}

/** Sign a payload and wrap it into envelope bytes. */
export async function sealEnvelope(
  tag: string,
  payload: Record<string, unknown>,
  signer: Signer
): Promise<Uint8Array> {
  const signed = signaturePayloadBytes(tag, payload)
  const signature = await signer.sign(signed)
  return encodeCbor([signature, { h: ED25519_DAG_CBOR_VARSIG, [tag]: payload }])
}

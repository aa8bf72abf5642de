import { randomBytes } from 'node:crypto'
import { CID } from 'multiformats/cid'
import { isEd25519Did } from '../identity/did.ts'
import { isMap } from './cbor.ts'
import { MAX_TIMESTAMP, NONCE_BYTES } from './constants.ts'
import { UcanError } from './errors.ts'

/** Field readers shared by delegations and invocations; each throws `MalformedToken`. */

function malformed(field: string, why: string): never {
  throw new UcanError('MalformedToken', `\`${field}\` ${why}`, { details: { field } })
}

/** True for a string shaped like a DID (`did:<method>:<id>`). */
export function isDid(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 2048 && /^did:[a-z0-9]+:\S+$/.test(value)
}

export function readIssuer(payload: Record<string, unknown>): string {
  const iss = payload['iss']
  if (!isEd25519Did(iss)) malformed('iss', 'must be an Ed25519 did:key (the only supported signer)')
  return iss
}

export function readDid(payload: Record<string, unknown>, field: string): string {
  const value = payload[field]
  if (!isDid(value)) malformed(field, 'must be a DID')
  return value
}

export function readOptionalDid(payload: Record<string, unknown>, field: string): string | undefined {
  if (!Object.hasOwn(payload, field)) return undefined
  return readDid(payload, field)
}

export function readNonce(payload: Record<string, unknown>): Uint8Array {
  const nonce = payload['nonce']
  if (!(nonce instanceof Uint8Array)) malformed('nonce', 'must be bytes')
  return nonce
}

function isTimestamp(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= MAX_TIMESTAMP
}

/** `exp`: required, an integer within ±(2^53 − 1) or `null`. */
export function readExpiration(payload: Record<string, unknown>): number | null {
  if (!Object.hasOwn(payload, 'exp')) malformed('exp', 'is required (use null for no expiry)')
  const exp = payload['exp']
  if (exp === null) return null
  if (!isTimestamp(exp)) malformed('exp', 'must be an integer timestamp within ±(2^53 − 1) or null')
  return exp
}

export function readOptionalTimestamp(payload: Record<string, unknown>, field: string): number | undefined {
  if (!Object.hasOwn(payload, field)) return undefined
  const value = payload[field]
  if (!isTimestamp(value)) malformed(field, 'must be an integer timestamp within ±(2^53 − 1)')
  return value
}

export function readOptionalMap(
  payload: Record<string, unknown>,
  field: string
): Record<string, unknown> | undefined {
  if (!Object.hasOwn(payload, field)) return undefined
  const value = payload[field]
  if (!isMap(value)) malformed(field, 'must be a map')
  return value
}

export function readOptionalLink(payload: Record<string, unknown>, field: string): CID | undefined {
  if (!Object.hasOwn(payload, field)) return undefined
  const cid = CID.asCID(payload[field])
  if (cid === null) malformed(field, 'must be a CID')
  return cid
}

/** A fresh random nonce. */
export function generateNonce(): Uint8Array {
  return new Uint8Array(randomBytes(NONCE_BYTES))
}

/** Check a timestamp given to a token builder. */
export function checkTimestamp(field: string, value: unknown): void {
  if (!isTimestamp(value)) {
    throw new UcanError(
      'MalformedToken',
      `\`${field}\` must be an integer number of seconds within ±(2^53 − 1)`
    )
  }
}

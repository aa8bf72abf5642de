/**
 * Name records in the DHT: their keys (`/agentmesh/<name>`), their encoding, and the validator and
 * selector kad-dht runs on every record it stores or returns. Nothing a peer stores is believed:
 * every record is verified as a resolver would.
 *
 * @example
 * ```ts
 * import { nameKey, nameRecordSelector, nameRecordValidator } from './dht-record.ts'
 *
 * kadDHT({ validators: { agentmesh: nameRecordValidator(trust) }, selectors: { agentmesh: nameRecordSelector(trust) } })
 * ```
 *
 * @packageDocumentation
 */
import type { SelectFn, ValidateFn } from '@libp2p/kad-dht'
import type { Logger } from '@libp2p/interface'
import { compare as compareBytes } from 'uint8arrays/compare'
import { fromString as bytesFromString } from 'uint8arrays/from-string'
import { toString as bytesToString } from 'uint8arrays/to-string'
import { MeshError } from '../errors.ts'
import { decodeCanonical, encodeCbor, type RevocationStore } from '../ucan/index.ts'
import { DHT_NAMESPACE, MAX_DHT_RECORD_BYTES, MAX_DHT_REMEMBERED_NAMES } from './constants.ts'
import { type NameRecord, type SignedNameRecord, verifyNameRecord } from './record.ts'
import { assertName } from './syntax.ts'

const KEY_PREFIX = `/${DHT_NAMESPACE}/`

/**
 * The DHT key of a name: the UTF-8 bytes of `/agentmesh/<name>`.
 *
 * @throws {MeshError} `INVALID_ARGUMENT` for an invalid name
 * @example
 * ```ts
 * nameKey('acme/prod/k8s') // bytes of '/agentmesh/acme/prod/k8s'
 * ```
 */
export function nameKey(name: string): Uint8Array {
  assertName(name)
  return bytesFromString(KEY_PREFIX + name)
}

/**
 * The name a DHT key is for: the inverse of {@link nameKey}.
 *
 * @throws {MeshError} `INVALID_ARGUMENT` for a key outside `/agentmesh/` or holding an invalid name
 * @example
 * ```ts
 * nameFromKey(nameKey('acme/prod/k8s')) // 'acme/prod/k8s'
 * ```
 */
export function nameFromKey(key: Uint8Array): string {
  if (!(key instanceof Uint8Array)) throw new MeshError('INVALID_ARGUMENT', 'a DHT key is bytes')
  const text = bytesToString(key)
  if (!text.startsWith(KEY_PREFIX)) throw new MeshError('INVALID_ARGUMENT', `the key is not under ${KEY_PREFIX}`)
  const name = text.slice(KEY_PREFIX.length)
  assertName(name)
  return name
}

/**
 * Encode a signed record as a DHT value: DAG-CBOR of `{ token, proofs }`.
 *
 * @throws {MeshError} `INVALID_ARGUMENT` when it is not `{ token, proofs }` or exceeds {@link MAX_DHT_RECORD_BYTES}
 * @example
 * ```ts
 * const value = encodeNameRecordValue(signed)
 * ```
 */
export function encodeNameRecordValue(signed: SignedNameRecord): Uint8Array {
  const { token, proofs } = signed
  if (!(token instanceof Uint8Array) || !Array.isArray(proofs) || !proofs.every((p) => p instanceof Uint8Array)) {
    throw new MeshError('INVALID_ARGUMENT', 'a name record is { token, proofs }')
  }
  const bytes = encodeCbor({ token, proofs })
  if (bytes.length > MAX_DHT_RECORD_BYTES) {
    throw new MeshError('INVALID_ARGUMENT', `a DHT name record holds at most ${MAX_DHT_RECORD_BYTES} bytes`)
  }
  return bytes
}

/**
 * Decode a DHT value into a signed record (not verified: see {@link verifyDhtRecord}). Only the one
 * canonical DAG-CBOR encoding of exactly `{ token, proofs }` is accepted, so a record has one form.
 *
 * @throws {MeshError} `INVALID_ARGUMENT` for anything else
 * @example
 * ```ts
 * const signed = decodeNameRecordValue(value)
 * ```
 */
export function decodeNameRecordValue(value: Uint8Array): SignedNameRecord {
  if (!(value instanceof Uint8Array)) throw new MeshError('INVALID_ARGUMENT', 'a DHT value is bytes')
  if (value.length > MAX_DHT_RECORD_BYTES) {
    throw new MeshError('INVALID_ARGUMENT', `a DHT name record holds at most ${MAX_DHT_RECORD_BYTES} bytes`)
  }
  let decoded: unknown
  try {
    decoded = decodeCanonical(value, MAX_DHT_RECORD_BYTES)
  } catch (err) {
    throw new MeshError('INVALID_ARGUMENT', 'a DHT name record is canonical DAG-CBOR', { cause: err })
  }
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) {
    throw new MeshError('INVALID_ARGUMENT', 'a DHT name record is a map { token, proofs }')
  }
  const keys = Object.keys(decoded)
  const { token, proofs } = decoded as Record<string, unknown>
  if (
    keys.length !== 2 ||
    !(token instanceof Uint8Array) ||
    !Array.isArray(proofs) ||
    !proofs.every((p) => p instanceof Uint8Array)
  ) {
    throw new MeshError('INVALID_ARGUMENT', 'a DHT name record is exactly { token, proofs }')
  }
  return { token, proofs: proofs as Uint8Array[] }
}

/** Options of {@link verifyDhtRecord}, {@link nameRecordValidator} and {@link nameRecordSelector}. */
export interface DhtRecordOptions {
  /** Revoked delegations: records resting on them are refused. */
  revoked?: RevocationStore
  /**
   * The clock, in ms since the epoch. A record is dead from its `exp` on, without the clock skew
   * UCAN allows, as the relay directory treats it.
   *
   * @default Date.now
   */
  now?: () => number
  /** Where refusals are logged. */
  log?: Logger
}

/**
 * Decode and verify a DHT value found under `key`: the name is the key's, never the record's own
 * claim, so a valid record of another name stored under this key is refused.
 *
 * @throws {MeshError} `INVALID_ARGUMENT` for garbage, `NOT_FOUND` for a record of another name,
 * `PERMISSION_DENIED` for a forged, untrusted, revoked or expired record
 * @example
 * ```ts
 * const record = verifyDhtRecord(nameKey('acme/prod/k8s'), value, { trust: { acme: acmeDid } })
 * ```
 */
export function verifyDhtRecord(
  key: Uint8Array,
  value: Uint8Array,
  options: DhtRecordOptions & { trust: Readonly<Record<string, string>> }
): NameRecord {
  const name = nameFromKey(key)
  const signed = decodeNameRecordValue(value)
  const nowMs = (options.now ?? Date.now)()
  const record = verifyNameRecord(signed, {
    trust: options.trust,
    name,
    now: Math.floor(nowMs / 1000),
    ...(options.revoked === undefined ? {} : { revoked: options.revoked })
  })
  if (record.exp <= nowMs) throw new MeshError('PERMISSION_DENIED', `the record of ${name} has expired`)
  return record
}

/** Options of {@link nameRecordValidator}. */
export interface NameRecordValidatorOptions extends DhtRecordOptions {
  /**
   * Names whose newest valid `seq` is remembered, to refuse an older unexpired record replayed
   * over a newer one; `0` turns the guard off.
   *
   * @default MAX_DHT_REMEMBERED_NAMES
   */
  rememberNames?: number
}

/**
 * The kad-dht validator of the `/agentmesh/` namespace (`validators: { agentmesh: … }`): throws,
 * so that kad-dht refuses the put or discards the answer, for anything but a valid record of the
 * key's own name: garbage, oversize, forged, untrusted, revoked, expired, another name's record,
 * or an older record of a name whose newer record this node has seen (a replay).
 *
 * @example
 * ```ts
 * kadDHT({ validators: { agentmesh: nameRecordValidator({ acme: acmeDid }) } })
 * ```
 */
export function nameRecordValidator(
  trust: Readonly<Record<string, string>>,
  options: NameRecordValidatorOptions = {}
): ValidateFn {
  const limit = options.rememberNames ?? MAX_DHT_REMEMBERED_NAMES
  const newest = new Map<string, { seq: number; exp: number }>()
  return (key: Uint8Array, value: Uint8Array): void => {
    let record: NameRecord
    try {
      record = verifyDhtRecord(key, value, { ...options, trust })
    } catch (err) {
      options.log?.('refused a DHT name record - %s', (err as Error).message)
      throw err
    }
    if (limit <= 0) return
    const held = newest.get(record.name)
    const now = (options.now ?? Date.now)()
    if (held !== undefined && held.exp > now && record.seq < held.seq) {
      options.log?.('refused a replayed DHT name record of %s (seq %d < %d)', record.name, record.seq, held.seq)
      throw new MeshError('ALREADY_EXISTS', `a newer record of ${record.name} is known (seq ${held.seq})`, {
        details: { seq: held.seq }
      })
    }
    if (held === undefined || held.exp <= now || record.seq >= held.seq) {
      newest.delete(record.name)
      newest.set(record.name, { seq: record.seq, exp: record.exp })
      if (newest.size > limit) {
        const oldest = newest.keys().next()
        if (oldest.done !== true) newest.delete(oldest.value)
      }
    }
  }
}

/** True when `a` beats `b`: higher seq, then later expiry, then the smaller encoding (deterministic). */
export function beats(a: NameRecord, aValue: Uint8Array, b: NameRecord, bValue: Uint8Array): boolean {
  if (a.seq !== b.seq) return a.seq > b.seq
  if (a.exp !== b.exp) return a.exp > b.exp
  return compareBytes(aValue, bValue) < 0
}

/**
 * The kad-dht selector of the `/agentmesh/` namespace (`selectors: { agentmesh: … }`): the index of
 * the valid record with the highest `seq` (ties: later expiry, then the smaller encoding, so every
 * node picks the same). An invalid or expired record never wins; when none is valid, `0` (kad-dht
 * has already validated what it passes, and {@link resolveNameFromDht} verifies again).
 *
 * @example
 * ```ts
 * kadDHT({ selectors: { agentmesh: nameRecordSelector({ acme: acmeDid }) } })
 * ```
 */
export function nameRecordSelector(trust: Readonly<Record<string, string>>, options: DhtRecordOptions = {}): SelectFn {
  return (key: Uint8Array, records: Uint8Array[]): number => {
    let best = -1
    let bestRecord: NameRecord | undefined
    records.forEach((value, i) => {
      let record: NameRecord
      try {
        record = verifyDhtRecord(key, value, { ...options, trust })
      } catch (err) {
        options.log?.('selector skipped a DHT name record - %s', (err as Error).message)
        return
      }
      if (bestRecord === undefined || beats(record, value, bestRecord, records[best]!)) {
        best = i
        bestRecord = record
      }
    })
    return Math.max(best, 0)
  }
}

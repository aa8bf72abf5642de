import { CID } from 'multiformats/cid'
import { isMap } from './cbor.ts'
import { MAX_VALUE_DEPTH } from './constants.ts'

/**
 * IPLD values as the policy language sees them: deep equality that is agnostic to the numeric type
 * (`1 == 1.0`, and a `bigint` beyond 2^53 equals the same integer), walking own properties only,
 * with bounded depth and a shared work budget.
 */

/** A work budget shared by one evaluation. When it runs out, `exhausted` is set. */
export interface Budget {
  work: number
  exhausted: boolean
}

/** True for a number or a bigint (IPLD int or float). */
export function isNumber(value: unknown): value is number | bigint {
  return typeof value === 'number' || typeof value === 'bigint'
}

/** Exact numeric equality across `number` and `bigint`. */
export function numbersEqual(a: number | bigint, b: number | bigint): boolean {
  if (typeof a === typeof b) return a === b
  const n = (typeof a === 'number' ? a : b) as number
  const big = (typeof a === 'bigint' ? a : b) as bigint
  return Number.isInteger(n) && BigInt(n) === big
}

/**
 * Deep IPLD equality. Returns false (and marks the budget exhausted) rather than going deeper than
 * {@link MAX_VALUE_DEPTH} or doing more work than the budget allows.
 */
export function ipldEquals(a: unknown, b: unknown, budget: Budget, depth = 0): boolean {
  if (--budget.work < 0 || depth > MAX_VALUE_DEPTH) {
    budget.exhausted = true
    return false
  }
  if (a === b) return a !== undefined
  if (isNumber(a)) return isNumber(b) && numbersEqual(a, b)
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!ipldEquals(a[i], b[i], budget, depth + 1)) return false
    return true
  }
  if (a instanceof Uint8Array) {
    if (!(b instanceof Uint8Array) || a.length !== b.length) return false
    budget.work -= a.length >>> 6
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
    return true
  }
  const ca = CID.asCID(a)
  if (ca !== null) {
    const cb = CID.asCID(b)
    return cb !== null && ca.equals(cb)
  }
  if (!isMap(a) || !isMap(b)) return false
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  for (const key of keys) {
    if (!Object.hasOwn(b, key)) return false
    if (!ipldEquals(a[key], b[key], budget, depth + 1)) return false
  }
  return true
}

/**
 * True when `value` is representable in the IPLD data model (what a policy literal may be):
 * null, booleans, finite numbers, bigints, strings, bytes, CIDs, lists and plain maps, nested at
 * most `maxDepth` deep.
 */
export function isIpld(value: unknown, maxDepth: number = MAX_VALUE_DEPTH, depth = 0): boolean {
  if (depth > maxDepth) return false
  switch (typeof value) {
    case 'boolean':
    case 'string':
    case 'bigint':
      return true
    case 'number':
      return Number.isFinite(value)
    case 'object': {
      if (value === null || value instanceof Uint8Array || CID.asCID(value) !== null) return true
      if (Array.isArray(value)) return value.every((v) => isIpld(v, maxDepth, depth + 1))
      const proto = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null) return false
      return Object.values(value).every((v) => isIpld(v, maxDepth, depth + 1))
    }
    default:
      return false
  }
}

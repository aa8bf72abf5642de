/**
 * A direct DAG-CBOR decoder for the small messages every call carries, with `@ipld/dag-cbor` as the
 * judge of everything else.
 *
 * `@ipld/dag-cbor` (cborg) builds a token object per item and merges its options per message: about
 * 10 µs of an agent's CPU for each request frame, and as much again for each answer on the caller.
 * This decoder walks the bytes once and builds the value directly. It returns a value only when it is
 * certain `@ipld/dag-cbor` would return the same one: every integer, length and tag in its shortest
 * form (dag-cbor's strict mode), definite lengths only, string keys without repeats, 64-bit floats
 * that are finite, `undefined` read as null, and tag 42 as a CID of this `multiformats`. Strings are
 * decoded as cborg decodes them (invalid UTF-8 becomes U+FFFD, as in its TextDecoder), and byte
 * strings are copies, as in cborg. For anything else (half and single floats, big integers, other
 * tags, indefinite lengths, truncated or trailing bytes, repeated keys, deep nesting) it answers
 * {@link NOT_FAST} and the caller hands the bytes to `@ipld/dag-cbor`, which decodes them or throws.
 * So the set of messages accepted and the values they decode to are `@ipld/dag-cbor`'s; a property
 * test (`test/rpc/fast-cbor.spec.ts`) compares the two on random values and on corrupted bytes.
 */
import { CID } from 'multiformats/cid'

/** What {@link decodeFast} returns for bytes it leaves to `@ipld/dag-cbor`. */
export const NOT_FAST: unique symbol = Symbol('not-fast')

/** Deepest nesting decoded here (deeper messages go to `@ipld/dag-cbor`). */
const MAX_DEPTH = 32
/**
 * ASCII strings shorter than this are built by a loop (the same string cborg's TextDecoder makes).
 * A TextDecoder call is cheap in a tight loop but cost more than the rest of a frame between calls:
 * raising this from cborg's 32 to 256 bytes took 7.6 us off the p50 of a relayed call with a 90-byte
 * string each way (24 interleaved rounds).
 */
const SHORT_STRING = 256
/** The CBOR tag of a CID in DAG-CBOR. */
const CID_TAG = 42

const utf8 = new TextDecoder()
/** Thrown inside the decoder when the bytes are not ones it takes; never escapes. */
const BAIL: unique symbol = Symbol('bail')

let data: Uint8Array = new Uint8Array(0)
let pos = 0

/**
 * Decode one DAG-CBOR value filling all of `bytes`, or return {@link NOT_FAST} when the bytes are not
 * ones this decoder takes (then `@ipld/dag-cbor` decides).
 */
export function decodeFast(bytes: Uint8Array): unknown {
  // a plain view of a Buffer (as the network hands them out): byte strings are copied out of it by
  // Uint8Array's slice, where Buffer's slice would share the network's memory
  data = bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  pos = 0
  try {
    const value = read(0)
    return pos === bytes.byteLength ? value : NOT_FAST
  } catch {
    return NOT_FAST
  } finally {
    data = EMPTY
  }
}

const EMPTY = new Uint8Array(0)

/** The big-endian unsigned 32-bit integer at `at` (the caller has checked that 4 bytes are there). */
function uint32At(at: number): number {
  return data[at]! * 0x1000000 + ((data[at + 1]! << 16) | (data[at + 2]! << 8) | data[at + 3]!)
}

/** The argument of a head with additional info `info`, in its shortest form only. */
function argument(info: number): number {
  if (info < 24) return info
  const at = pos
  switch (info) {
    case 24: {
      if (at + 1 > data.byteLength) throw BAIL
      const n = data[at]!
      if (n < 24) throw BAIL
      pos = at + 1
      return n
    }
    case 25: {
      if (at + 2 > data.byteLength) throw BAIL
      const n = (data[at]! << 8) | data[at + 1]!
      if (n < 0x100) throw BAIL
      pos = at + 2
      return n
    }
    case 26: {
      if (at + 4 > data.byteLength) throw BAIL
      const n = uint32At(at)
      if (n < 0x10000) throw BAIL
      pos = at + 4
      return n
    }
    case 27: {
      if (at + 8 > data.byteLength) throw BAIL
      const hi = uint32At(at)
      // 2^53 and up is a bigint in dag-cbor; below 2^32 is not the shortest form
      if (hi === 0 || hi >= 0x200000) throw BAIL
      const lo = uint32At(at + 4)
      pos = at + 8
      return hi * 0x100000000 + lo
    }
    default:
      throw BAIL
  }
}

function read(depth: number): unknown {
  if (pos >= data.byteLength) throw BAIL
  const initial = data[pos++]!
  const major = initial >>> 5
  const info = initial & 0x1f
  switch (major) {
    case 0:
      return argument(info)
    case 1: {
      const n = argument(info)
      const value = -1 - n
      if (value < Number.MIN_SAFE_INTEGER) throw BAIL
      return value
    }
    case 2:
      return readBytes(argument(info))
    case 3:
      return readString(argument(info))
    case 4: {
      if (depth >= MAX_DEPTH) throw BAIL
      const n = argument(info)
      const out: unknown[] = []
      for (let i = 0; i < n; i++) out.push(read(depth + 1))
      return out
    }
    case 5: {
      if (depth >= MAX_DEPTH) throw BAIL
      return readMap(argument(info), depth)
    }
    case 6:
      return readCid(info)
    default:
      return readSimple(info)
  }
}

function readBytes(n: number): Uint8Array {
  const end = pos + n
  if (end > data.byteLength) throw BAIL
  const out = data.slice(pos, end)
  pos = end
  return out
}

function readString(n: number): string {
  const start = pos
  const end = start + n
  if (end > data.byteLength) throw BAIL
  pos = end
  if (n < SHORT_STRING) {
    let out = ''
    for (let i = start; i < end; i++) {
      const c = data[i]!
      if (c >= 0x80) return utf8.decode(data.subarray(start, end))
      out += String.fromCharCode(c)
    }
    return out
  }
  return utf8.decode(data.subarray(start, end))
}

function readMap(n: number, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  let lastStart = 0
  let lastLength = -1
  for (let i = 0; i < n; i++) {
    if (pos >= data.byteLength) throw BAIL
    const initial = data[pos++]!
    // keys are strings: anything else is dag-cbor's error to report
    if (initial >>> 5 !== 3) throw BAIL
    const length = argument(initial & 0x1f)
    const start = pos
    // keys in DAG-CBOR order (shorter first, then bytewise) cannot repeat; any other order goes to dag-cbor
    if (!after(start, length, lastStart, lastLength)) throw BAIL
    lastStart = start
    lastLength = length
    const key = readKey(length)
    if (key === '__proto__') throw BAIL
    out[key] = read(depth + 1)
  }
  return out
}

/** True when the key at `start` sorts strictly after the key at `prevStart` (DAG-CBOR map order). */
function after(start: number, length: number, prevStart: number, prevLength: number): boolean {
  if (length !== prevLength) return length > prevLength
  if (start + length > data.byteLength) throw BAIL
  for (let i = 0; i < length; i++) {
    const a = data[start + i]!
    const b = data[prevStart + i]!
    if (a !== b) return a > b
  }
  return false
}

/** Short ASCII keys decoded before, by their bytes packed into a number: frames repeat the same few. */
const keys = new Map<number, string>()
const MAX_KEYS_CACHED = 256
/** Keys of up to 7 ASCII bytes pack exactly into a double (7 bits each, then the length). */
const MAX_PACKED_KEY = 7

function readKey(length: number): string {
  if (length === 0 || length > MAX_PACKED_KEY || pos + length > data.byteLength) return readString(length)
  let packed = 0
  for (let i = 0; i < length; i++) {
    const c = data[pos + i]!
    if (c >= 0x80) return readString(length)
    packed = packed * 128 + c
  }
  packed = packed * 8 + length
  const known = keys.get(packed)
  if (known !== undefined) {
    pos += length
    return known
  }
  const key = readString(length)
  if (keys.size < MAX_KEYS_CACHED) keys.set(packed, key)
  return key
}

/**
 * CIDs decoded lately: a caller sends the same chain reference on every call, and decoding a CID
 * (multihash parsing, then re-encoding its bytes) cost more than the rest of the frame. CIDs are
 * immutable values, so the same one is handed out again for the same bytes.
 */
const recentCids: CID[] = []
const RECENT_CIDS = 8

/** Tag 42 in its one-byte form, then a byte string holding 0x00 and the CID's bytes. */
function readCid(info: number): CID {
  if (info !== 24 || pos >= data.byteLength || data[pos] !== CID_TAG) throw BAIL
  pos++
  if (pos >= data.byteLength) throw BAIL
  const initial = data[pos++]!
  if (initial >>> 5 !== 2) throw BAIL
  const length = argument(initial & 0x1f)
  if (length < 1 || pos + length > data.byteLength || data[pos] !== 0) throw BAIL
  const known = recentCid(pos + 1, length - 1)
  if (known !== undefined) {
    pos += length
    return known
  }
  const cid = CID.decode(readBytes(length).subarray(1))
  if (recentCids.length >= RECENT_CIDS) recentCids.pop()
  recentCids.unshift(cid)
  return cid
}

function recentCid(start: number, length: number): CID | undefined {
  for (const cid of recentCids) {
    const bytes = cid.bytes
    if (bytes.byteLength !== length) continue
    let i = 0
    while (i < length && bytes[i] === data[start + i]) i++
    if (i === length) return cid
  }
  return undefined
}

function readSimple(info: number): unknown {
  switch (info) {
    case 20:
      return false
    case 21:
      return true
    case 22:
    case 23: // dag-cbor reads undefined as null
      return null
    case 27: {
      if (pos + 8 > data.byteLength) throw BAIL
      const value = new DataView(data.buffer, data.byteOffset + pos, 8).getFloat64(0)
      if (!Number.isFinite(value)) throw BAIL
      pos += 8
      return value
    }
    default:
      throw BAIL
  }
}

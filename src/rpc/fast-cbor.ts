/**
 * A direct DAG-CBOR encoder for the small values every call carries.
 *
 * `@ipld/dag-cbor` (cborg) spends most of its time per value on type dispatch, map sorting through
 * generic comparators and its chunked output list: about a fifth of a caller's CPU at 64 calls in
 * flight. This encoder writes the same bytes straight into one arena buffer, with the message's
 * length prefix in front. Messages are carved out of a shared arena, as Node's Buffer pool does: a
 * typed array allocated per message costs more than encoding a small one.
 *
 * It takes only values it can encode exactly as `@ipld/dag-cbor` does: null, booleans, finite
 * numbers, strings, `Uint8Array`s of up to {@link MAX_FAST_BYTES}, arrays, plain objects and CIDs of
 * this `multiformats`. For anything else (undefined, NaN, bigint, Map, other typed arrays, class
 * instances, CID look-alikes, deep nesting, a message over {@link MAX_FAST_MESSAGE}) it returns
 * undefined, and the caller encodes with `@ipld/dag-cbor`, which produces the bytes or the error.
 * Equality with `@ipld/dag-cbor` is a property test (`test/rpc/fast-cbor.spec.ts`).
 */
import { CID } from 'multiformats/cid'
import { varintLength, writeVarint } from './varint.ts'

/** Largest byte string taken: larger ones go to `@ipld/dag-cbor`, which appends them without a copy. */
export const MAX_FAST_BYTES = 4096
/** Largest message (prefix and body) encoded here. */
export const MAX_FAST_MESSAGE = 64 * 1024
/** Deepest nesting encoded here (deeper values, and cycles, go to `@ipld/dag-cbor`). */
const MAX_DEPTH = 32
/** Room left in front of the body for its varint length prefix (up to 2^35 bytes). */
const PREFIX_ROOM = 5
/** The symbol by which old CID implementations mark themselves (dag-cbor treats them as CIDs). */
const CID_SYMBOL = Symbol.for('@ipld/js-cid/CID')
/**
 * ASCII strings up to this length are written by a loop; longer ones, and any other text, by Node's
 * UTF-8 writer. Its two native calls per string (byte length, then write) cost more between calls
 * than the loop does for a few hundred characters.
 */
const SHORT_STRING = 256
/** Maps up to this many keys are sorted by insertion. */
const SMALL_MAP = 16
/** Encoded map keys, cached: frames repeat the same few keys on every call. */
const KEY_CACHE_MAX = 512

/** Thrown inside the encoder when a value is not one it takes, or does not fit; never escapes. */
const UNSUPPORTED: unique symbol = Symbol('unsupported')

/** Size of one arena: several messages of the largest size fit. */
const ARENA_BYTES = 4 * MAX_FAST_MESSAGE
/** The arena as a Buffer, for Node's UTF-8 writer; `arena` is the same memory as a plain Uint8Array. */
let arenaBuffer = Buffer.allocUnsafeSlow(ARENA_BYTES)
let arena = new Uint8Array(arenaBuffer.buffer, arenaBuffer.byteOffset, ARENA_BYTES)
let view = new DataView(arena.buffer, arena.byteOffset, ARENA_BYTES)
/** Where the next message starts in the arena. */
let used = 0
/** The write position, and the end of the message being written. */
let pos = 0
let limit = 0
const utf8 = new TextEncoder()
const keyCache = new Map<string, Uint8Array>()

/**
 * Encode `value` as a length-prefixed DAG-CBOR message (`varint(length) || body`), or return
 * undefined when the value is not one this encoder takes.
 */
export function encodeMessageFast(value: unknown): Uint8Array | undefined {
  // every message starts with room for the largest one: a message that runs out of room is too large
  if (ARENA_BYTES - used < MAX_FAST_MESSAGE) newArena()
  const base = used
  pos = base + PREFIX_ROOM
  limit = base + MAX_FAST_MESSAGE
  try {
    write(value, 0)
  } catch {
    // a value not taken here, a message too large, a throwing getter: dag-cbor decides
    return undefined
  }
  const length = pos - base - PREFIX_ROOM
  const start = base + PREFIX_ROOM - varintLength(length)
  writeVarint(arena, start, length)
  used = pos
  return arena.subarray(start, pos)
}

function newArena(): void {
  arenaBuffer = Buffer.allocUnsafeSlow(ARENA_BYTES)
  arena = new Uint8Array(arenaBuffer.buffer, arenaBuffer.byteOffset, ARENA_BYTES)
  view = new DataView(arena.buffer, arena.byteOffset, ARENA_BYTES)
  used = 0
}

function room(n: number): void {
  if (pos + n > limit) throw UNSUPPORTED
}

/** A CBOR head: major type and argument, in the shortest form (as DAG-CBOR requires). */
function head(major: number, n: number): void {
  room(9)
  const m = major << 5
  if (n < 24) {
    arena[pos++] = m | n
  } else if (n < 0x100) {
    arena[pos++] = m | 24
    arena[pos++] = n
  } else if (n < 0x10000) {
    arena[pos++] = m | 25
    arena[pos++] = n >>> 8
    arena[pos++] = n & 0xff
  } else if (n < 0x100000000) {
    arena[pos++] = m | 26
    view.setUint32(pos, n)
    pos += 4
  } else {
    arena[pos++] = m | 27
    view.setUint32(pos, Math.floor(n / 0x100000000))
    view.setUint32(pos + 4, n >>> 0)
    pos += 8
  }
}

function write(value: unknown, depth: number): void {
  switch (typeof value) {
    case 'string':
      writeString(value)
      return
    case 'number':
      writeNumber(value)
      return
    case 'boolean':
      room(1)
      arena[pos++] = value ? 0xf5 : 0xf4
      return
    case 'object':
      break
    default:
      throw UNSUPPORTED
  }
  if (value === null) {
    room(1)
    arena[pos++] = 0xf6
    return
  }
  if (depth >= MAX_DEPTH) throw UNSUPPORTED
  if (Array.isArray(value)) {
    head(4, value.length)
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i]
      if (item === undefined) throw UNSUPPORTED
      write(item, depth + 1)
    }
    return
  }
  if (value instanceof Uint8Array) {
    if (value.byteLength > MAX_FAST_BYTES) throw UNSUPPORTED
    head(2, value.byteLength)
    room(value.byteLength)
    arena.set(value, pos)
    pos += value.byteLength
    return
  }
  if (value instanceof CID) {
    // tag 42, then the CID's bytes behind a 0x00 prefix (the multibase identity prefix)
    const bytes = value.bytes
    room(2)
    arena[pos++] = 0xd8
    arena[pos++] = 42
    head(2, bytes.byteLength + 1)
    room(bytes.byteLength + 1)
    arena[pos++] = 0
    arena.set(bytes, pos)
    pos += bytes.byteLength
    return
  }
  if (value.constructor !== Object) throw UNSUPPORTED
  writeMap(value as Record<string, unknown> & { [CID_SYMBOL]?: unknown }, depth)
}

function writeNumber(value: number): void {
  if (Number.isSafeInteger(value)) {
    if (value >= 0) head(0, value)
    else head(1, -1 - value)
    return
  }
  if (!Number.isFinite(value)) throw UNSUPPORTED
  // DAG-CBOR encodes every other number as a 64-bit float
  room(9)
  arena[pos++] = 0xfb
  view.setFloat64(pos, value)
  pos += 8
}

function writeString(value: string): void {
  const n = value.length
  if (n <= SHORT_STRING) {
    const start = pos
    head(3, n)
    room(n)
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i)
      if (c >= 0x80) {
        // not ASCII: the UTF-8 length differs from the string's, so the head is written again
        pos = start
        break
      }
      arena[pos++] = c
    }
    if (pos > start) return
  }
  const bytes = Buffer.byteLength(value, 'utf8')
  head(3, bytes)
  room(bytes)
  pos += arenaBuffer.write(value, pos, bytes, 'utf8')
}

/** The key as its encoded CBOR text string (head and UTF-8 bytes). */
function encodedKey(key: string): Uint8Array {
  let bytes = keyCache.get(key)
  if (bytes !== undefined) return bytes
  const body = utf8.encode(key)
  const len = body.byteLength
  const prefix = len < 24 ? [0x60 | len] : len < 0x100 ? [0x78, len] : len < 0x10000 ? [0x79, len >>> 8, len & 0xff] : undefined
  if (prefix === undefined) throw UNSUPPORTED
  bytes = new Uint8Array(prefix.length + len)
  bytes.set(prefix, 0)
  bytes.set(body, prefix.length)
  if (keyCache.size < KEY_CACHE_MAX) keyCache.set(key, bytes)
  return bytes
}

/** DAG-CBOR map order: shorter encoded keys first, then bytewise. */
function compareKeys(a: Uint8Array, b: Uint8Array): number {
  if (a.byteLength !== b.byteLength) return a.byteLength - b.byteLength
  for (let i = 0; i < a.byteLength; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!
  }
  return 0
}

function writeMap(value: Record<string, unknown> & { [CID_SYMBOL]?: unknown }, depth: number): void {
  // objects dag-cbor would take for a CID: leave them to it
  if ('/' in value || 'asCID' in value || value[CID_SYMBOL] === true) throw UNSUPPORTED
  const keys = Object.keys(value)
  const n = keys.length
  const encoded = new Array<Uint8Array>(n)
  for (let i = 0; i < n; i++) encoded[i] = encodedKey(keys[i]!)
  if (n > SMALL_MAP) {
    const order = keys.map((_, i) => i).sort((i, j) => compareKeys(encoded[i]!, encoded[j]!))
    writeEntries(value, order.map((i) => keys[i]!), order.map((i) => encoded[i]!), depth)
    return
  }
  // insertion sort, keys and their encodings side by side: maps are small
  for (let i = 1; i < n; i++) {
    const key = keys[i]!
    const bytes = encoded[i]!
    let j = i - 1
    while (j >= 0 && compareKeys(encoded[j]!, bytes) > 0) {
      keys[j + 1] = keys[j]!
      encoded[j + 1] = encoded[j]!
      j--
    }
    keys[j + 1] = key
    encoded[j + 1] = bytes
  }
  writeEntries(value, keys, encoded, depth)
}

function writeEntries(value: Record<string, unknown>, keys: string[], encoded: Uint8Array[], depth: number): void {
  head(5, keys.length)
  for (let i = 0; i < keys.length; i++) {
    const item = value[keys[i]!]
    if (item === undefined) throw UNSUPPORTED
    const key = encoded[i]!
    room(key.byteLength)
    arena.set(key, pos)
    pos += key.byteLength
    write(item, depth + 1)
  }
}

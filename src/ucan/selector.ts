import { isMap } from './cbor.ts'
import { MAX_POLICY_DEPTH } from './constants.ts'
import { UcanError } from './errors.ts'

/**
 * Selectors of the policy language, a jq subset: `.`, `.a`, `.["quoted key"]`, `[]`, `[i]`, `[-i]`,
 * `[a:b]` slices and the `?` optional marker. Resolution reads own properties only, never
 * inherited ones (`__proto__`, `constructor`), and never throws.
 */

/** One step of a parsed selector. */
export type Segment =
  | { readonly kind: 'field'; readonly key: string; readonly optional: boolean }
  | { readonly kind: 'index'; readonly index: number; readonly optional: boolean }
  | { readonly kind: 'slice'; readonly start?: number; readonly end?: number; readonly optional: boolean }
  | { readonly kind: 'iterate'; readonly optional: boolean }

/** A parsed selector: its source text and its segments (none for the identity `.`). */
export interface Selector {
  readonly source: string
  readonly segments: readonly Segment[]
}

/** Returned by {@link resolveSelector} when the path cannot be resolved. */
export const NO_VALUE: unique symbol = Symbol('NO_VALUE')

const NAME_START = /[A-Za-z_]/
const NAME_CHAR = /[A-Za-z0-9_]/
const INDEX = /^-?(0|[1-9][0-9]*)$/
const SLICE = /^(-?(?:0|[1-9][0-9]*))?:(-?(?:0|[1-9][0-9]*))?$/

function fail(source: string, why: string): never {
  throw new UcanError('InvalidPolicy', `invalid selector ${JSON.stringify(source)}: ${why}`)
}

function toInt(source: string, text: string): number {
  const n = Number(text)
  if (!Number.isSafeInteger(n)) fail(source, 'index out of range')
  return n
}

/**
 * Parse a selector; throws `InvalidPolicy` on bad syntax.
 *
 * @example
 * ```ts
 * parseSelector('.to[-1]').segments // [{ kind: 'field', key: 'to' }, { kind: 'index', index: -1 }]
 * ```
 */
export function parseSelector(source: unknown): Selector {
  if (typeof source !== 'string') throw new UcanError('InvalidPolicy', 'selector must be a string')
  const s = source
  if (s[0] !== '.') fail(s, 'must start with "."')
  const segments: Segment[] = []
  let pos = 1
  let afterDot = true
  while (pos < s.length) {
    const c = s[pos]!
    let segment: Segment
    if (c === '[') {
      const close = bracketEnd(s, pos)
      const inner = s.slice(pos + 1, close)
      pos = close + 1
      if (inner === '') segment = { kind: 'iterate', optional: false }
      else if (inner[0] === '"') {
        let key: unknown
        try {
          key = JSON.parse(inner)
        } catch {
          fail(s, 'bad quoted key')
        }
        if (typeof key !== 'string') fail(s, 'bad quoted key')
        segment = { kind: 'field', key, optional: false }
      } else if (INDEX.test(inner)) segment = { kind: 'index', index: toInt(s, inner), optional: false }
      else {
        const m = SLICE.exec(inner)
        if (m === null) fail(s, `bad brackets [${inner}]`)
        segment = {
          kind: 'slice',
          ...(m[1] === undefined ? {} : { start: toInt(s, m[1]) }),
          ...(m[2] === undefined ? {} : { end: toInt(s, m[2]) }),
          optional: false
        }
      }
    } else if (c === '.') {
      if (afterDot) fail(s, 'consecutive dots')
      afterDot = true
      pos++
      if (pos >= s.length) fail(s, 'trailing dot')
      continue
    } else if (afterDot && NAME_START.test(c)) {
      let end = pos + 1
      while (end < s.length && NAME_CHAR.test(s[end]!)) end++
      segment = { kind: 'field', key: s.slice(pos, end), optional: false }
      pos = end
    } else fail(s, `unexpected ${JSON.stringify(c)} at ${pos}`)
    let optional = false
    while (s[pos] === '?') {
      optional = true
      pos++
    }
    segments.push(optional ? { ...segment, optional } : segment)
    if (segments.length > MAX_POLICY_DEPTH) fail(s, 'too many segments')
    afterDot = false
  }
  return { source: s, segments }
}

/** Index of the `]` closing the bracket opened at `open`, skipping quoted strings. */
function bracketEnd(s: string, open: number): number {
  let i = open + 1
  if (s[i] === '"') {
    i++
    while (i < s.length && s[i] !== '"') i += s[i] === '\\' ? 2 : 1
    if (i >= s.length) fail(s, 'unterminated quoted key')
    i++
    if (s[i] !== ']') fail(s, 'expected "]" after quoted key')
    return i
  }
  const close = s.indexOf(']', i)
  if (close < 0) fail(s, 'unterminated "["')
  return close
}

type Value = unknown

function step(segment: Segment, value: Value): Value | typeof NO_VALUE {
  switch (segment.kind) {
    case 'field':
      if (!isMap(value)) return NO_VALUE
      return Object.hasOwn(value, segment.key) ? value[segment.key] : null
    case 'index': {
      if (!Array.isArray(value) && !(value instanceof Uint8Array)) return NO_VALUE
      const i = segment.index < 0 ? value.length + segment.index : segment.index
      if (i < 0 || i >= value.length) return NO_VALUE
      return value[i]
    }
    case 'slice': {
      if (!Array.isArray(value) && !(value instanceof Uint8Array)) return NO_VALUE
      return value.slice(segment.start ?? 0, segment.end ?? value.length)
    }
    case 'iterate':
      if (Array.isArray(value)) return value
      if (value instanceof Uint8Array) return Array.from(value)
      if (isMap(value)) return Object.values(value)
      return NO_VALUE
  }
}

/**
 * Resolve a selector against a value. Returns `NO_VALUE` when a step fails (selecting into the
 * wrong kind, an index out of range), `null` for a missing map key or an optional step that failed.
 * After `[]`, the remaining steps apply to every element and the results form a list.
 *
 * @example
 * ```ts
 * resolveSelector(parseSelector('.to[1]'), { to: ['a', 'b'] }) // 'b'
 * ```
 */
export function resolveSelector(selector: Selector, value: Value, from = 0): Value | typeof NO_VALUE {
  const segments = selector.segments
  let current = value
  for (let i = from; i < segments.length; i++) {
    const segment = segments[i]!
    let next = step(segment, current)
    if (next !== NO_VALUE && segment.kind === 'iterate' && i + 1 < segments.length) {
      const items = next as Value[]
      const out: Value[] = new Array(items.length)
      for (let j = 0; j < items.length; j++) {
        const r = resolveSelector(selector, items[j], i + 1)
        if (r === NO_VALUE) return NO_VALUE
        out[j] = r
      }
      return out
    }
    if (next === NO_VALUE) {
      if (!segment.optional) return NO_VALUE
      next = null
    }
    current = next
  }
  return current
}

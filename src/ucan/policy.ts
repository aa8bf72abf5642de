import { MAX_POLICY_DEPTH, MAX_POLICY_WORK } from './constants.ts'
import { UcanError } from './errors.ts'
import { compileGlob, type Glob, globMatches } from './glob.ts'
import { NO_VALUE, parseSelector, resolveSelector, type Selector } from './selector.ts'
import { type Budget, ipldEquals, isIpld, isNumber } from './values.ts'

/**
 * The UCAN policy language: a policy is a list of statements that must all hold for an
 * invocation's `args`. Statements: `==`, `!=`, `<`, `<=`, `>`, `>=`, `like`, `and`, `or`, `not`,
 * `all`, `any`, over jq-style selectors.
 *
 * Evaluation is three-valued: a selector that cannot be resolved makes its statement "no data",
 * which `not` does not turn into true, so a missing field never grants authority.
 */

/** A policy as written in a delegation: a list of statements. */
export type Policy = readonly Statement[]
/** A statement as written: `[op, selector, value]`, `[op, [statements]]` or `[op, statement]`. */
export type Statement = readonly unknown[]

/** A parsed statement. */
export type ParsedStatement =
  | { readonly op: '==' | '!='; readonly sel: Selector; readonly value: unknown }
  | { readonly op: '<' | '<=' | '>' | '>='; readonly sel: Selector; readonly value: number | bigint }
  | { readonly op: 'like'; readonly sel: Selector; readonly glob: Glob }
  | { readonly op: 'and' | 'or'; readonly statements: readonly ParsedStatement[] }
  | { readonly op: 'not'; readonly statement: ParsedStatement }
  | { readonly op: 'all' | 'any'; readonly sel: Selector; readonly statement: ParsedStatement }

/** A parsed policy, ready to evaluate many times. */
export interface ParsedPolicy {
  readonly source: Policy
  readonly statements: readonly ParsedStatement[]
}

function invalid(why: string): never {
  throw new UcanError('InvalidPolicy', `invalid policy: ${why}`)
}

function parseStatement(raw: unknown, depth: number): ParsedStatement {
  if (depth > MAX_POLICY_DEPTH) invalid(`nested deeper than ${MAX_POLICY_DEPTH}`)
  if (!Array.isArray(raw) || raw.length === 0) invalid('a statement is a non-empty list')
  const op = raw[0]
  switch (op) {
    case '==':
    case '!=':
      if (raw.length !== 3) invalid(`${op} takes a selector and a value`)
      if (!isIpld(raw[2])) invalid(`${op} value is not IPLD`)
      return { op, sel: parseSelector(raw[1]), value: raw[2] }
    case '<':
    case '<=':
    case '>':
    case '>=': {
      if (raw.length !== 3) invalid(`${op} takes a selector and a number`)
      const value = raw[2]
      if (!isNumber(value) || (typeof value === 'number' && !Number.isFinite(value))) {
        invalid(`${op} compares numbers only`)
      }
      return { op, sel: parseSelector(raw[1]), value }
    }
    case 'like':
      if (raw.length !== 3 || typeof raw[2] !== 'string') invalid('like takes a selector and a pattern')
      return { op, sel: parseSelector(raw[1]), glob: compileGlob(raw[2]) }
    case 'and':
    case 'or':
      if (raw.length !== 2 || !Array.isArray(raw[1])) invalid(`${op} takes a list of statements`)
      return { op, statements: (raw[1] as unknown[]).map((s) => parseStatement(s, depth + 1)) }
    case 'not':
      if (raw.length !== 2) invalid('not takes one statement')
      return { op, statement: parseStatement(raw[1], depth + 1) }
    case 'all':
    case 'any':
      if (raw.length !== 3) invalid(`${op} takes a selector and a statement`)
      return { op, sel: parseSelector(raw[1]), statement: parseStatement(raw[2], depth + 1) }
    default:
      return invalid(`unknown operator ${JSON.stringify(op)}`)
  }
}

const parsedCache = new WeakMap<object, ParsedPolicy>()

/**
 * Parse and check a policy; throws `InvalidPolicy` (code `INVALID_ARGUMENT`) when malformed.
 * Results are memoised per policy object.
 *
 * @example
 * ```ts
 * const parsed = parsePolicy([['==', '.name', 'acme/prod/k8s']])
 * evaluatePolicy(parsed, { name: 'acme/prod/k8s' }) // true
 * ```
 */
export function parsePolicy(policy: unknown): ParsedPolicy {
  if (typeof policy === 'object' && policy !== null) {
    const hit = parsedCache.get(policy)
    if (hit !== undefined) return hit
  }
  if (!Array.isArray(policy)) invalid('a policy is a list of statements')
  const parsed: ParsedPolicy = {
    source: policy,
    statements: policy.map((s: unknown) => parseStatement(s, 1))
  }
  parsedCache.set(policy, parsed)
  return parsed
}

/**
 * Throw `InvalidPolicy` unless `policy` is well-formed.
 *
 * @example
 * ```ts
 * assertPolicy([['>', '.replicas', 'three']]) // throws: > compares numbers only
 * ```
 */
export function assertPolicy(policy: unknown): asserts policy is Policy {
  parsePolicy(policy)
}

/**
 * True when `policy` is a well-formed policy; never throws (see {@link assertPolicy} for the reason).
 *
 * @example
 * ```ts
 * import { isPolicy } from 'agentmesh/ucan'
 *
 * console.log(isPolicy([['<=', '.replicas', 10]])) // true
 * console.log(isPolicy([['>', '.replicas', 'three']])) // false: > compares numbers only
 * console.log(isPolicy('.replicas <= 10')) // false: a policy is an array of statements
 * ```
 */
export function isPolicy(policy: unknown): policy is Policy {
  try {
    parsePolicy(policy)
    return true
  } catch {
    return false
  }
}

const TRUE = 1
const FALSE = 0
const NO_DATA = 2
type Outcome = 0 | 1 | 2

function compare(op: '<' | '<=' | '>' | '>=', a: number | bigint, b: number | bigint): boolean {
  switch (op) {
    case '<':
      return a < b
    case '<=':
      return a <= b
    case '>':
      return a > b
    case '>=':
      return a >= b
  }
}

function evaluate(stmt: ParsedStatement, value: unknown, budget: Budget): Outcome {
  if (--budget.work < 0) {
    budget.exhausted = true
    return NO_DATA
  }
  switch (stmt.op) {
    case '==':
    case '!=': {
      const selected = resolveSelector(stmt.sel, value)
      if (selected === NO_VALUE) return NO_DATA
      const equal = ipldEquals(selected, stmt.value, budget)
      if (budget.exhausted) return NO_DATA
      return equal === (stmt.op === '==') ? TRUE : FALSE
    }
    case '<':
    case '<=':
    case '>':
    case '>=': {
      const selected = resolveSelector(stmt.sel, value)
      if (selected === NO_VALUE) return NO_DATA
      if (!isNumber(selected)) return FALSE
      return compare(stmt.op, selected, stmt.value) ? TRUE : FALSE
    }
    case 'like': {
      const selected = resolveSelector(stmt.sel, value)
      if (selected === NO_VALUE) return NO_DATA
      if (typeof selected !== 'string') return FALSE
      budget.work -= selected.length >>> 6
      return globMatches(stmt.glob, selected) ? TRUE : FALSE
    }
    case 'not': {
      const inner = evaluate(stmt.statement, value, budget)
      return inner === NO_DATA ? NO_DATA : inner === TRUE ? FALSE : TRUE
    }
    case 'and':
      return conjunction(stmt.statements, value, budget)
    case 'or':
      return disjunction(stmt.statements, value, budget)
    case 'all':
    case 'any': {
      const selected = resolveSelector(stmt.sel, value)
      if (selected === NO_VALUE) return NO_DATA
      let items: readonly unknown[]
      if (Array.isArray(selected)) items = selected
      else if (selected !== null && typeof selected === 'object' && !(selected instanceof Uint8Array)) {
        items = Object.values(selected)
      } else return FALSE
      let sawNoData = false
      for (const item of items) {
        const r = evaluate(stmt.statement, item, budget)
        if (budget.exhausted) return NO_DATA
        if (stmt.op === 'all' && r === FALSE) return FALSE
        if (stmt.op === 'any' && r === TRUE) return TRUE
        if (r === NO_DATA) sawNoData = true
      }
      if (sawNoData) return NO_DATA
      return stmt.op === 'all' ? TRUE : FALSE
    }
  }
}

function conjunction(statements: readonly ParsedStatement[], value: unknown, budget: Budget): Outcome {
  let sawNoData = false
  for (const s of statements) {
    const r = evaluate(s, value, budget)
    if (budget.exhausted) return NO_DATA
    if (r === FALSE) return FALSE
    if (r === NO_DATA) sawNoData = true
  }
  return sawNoData ? NO_DATA : TRUE
}

function disjunction(statements: readonly ParsedStatement[], value: unknown, budget: Budget): Outcome {
  // the spec: an empty `or` is true
  if (statements.length === 0) return TRUE
  let sawNoData = false
  for (const s of statements) {
    const r = evaluate(s, value, budget)
    if (budget.exhausted) return NO_DATA
    if (r === TRUE) return TRUE
    if (r === NO_DATA) sawNoData = true
  }
  return sawNoData ? NO_DATA : FALSE
}

/**
 * Evaluate a parsed policy against `args`: true only when every statement holds. Never throws.
 *
 * @example
 * ```ts
 * evaluatePolicy(parsePolicy([['<=', '.replicas', 10]]), { replicas: 3 }) // true
 * ```
 */
export function evaluatePolicy(
  policy: ParsedPolicy,
  args: unknown,
  maxWork: number = MAX_POLICY_WORK
): boolean {
  const budget: Budget = { work: maxWork, exhausted: false }
  try {
    return conjunction(policy.statements, args, budget) === TRUE && !budget.exhausted
  } catch {
    // e.g. a stack overflow on hostile input: deny, never throw
    return false
  }
}

/**
 * True when `args` satisfy `policy`. Never throws: a malformed policy, a missing field, a type
 * mismatch or an over-budget evaluation all read as `false`.
 *
 * @example
 * ```ts
 * matchPolicy([['==', '.from', 'alice@example.com'], ['any', '.to', ['like', '.', '*@example.com']]], {
 *   from: 'alice@example.com',
 *   to: ['bob@example.com', 'carol@elsewhere.com']
 * }) // true
 * ```
 */
export function matchPolicy(policy: unknown, args: unknown): boolean {
  let parsed: ParsedPolicy
  try {
    parsed = parsePolicy(policy)
  } catch {
    return false
  }
  return evaluatePolicy(parsed, args)
}

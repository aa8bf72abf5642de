/**
 * `like` patterns: `*` matches zero or more characters, `\*` is a literal star and `\\` a literal
 * backslash. Matching is linear-time (no backtracking regex).
 */

/** A compiled glob: the literal parts between wildcards. */
export interface Glob {
  readonly source: string
  /** Literal parts; a pattern with n wildcards has n + 1 parts. */
  readonly parts: readonly string[]
}

/** Compile a `like` pattern. */
export function compileGlob(pattern: string): Glob {
  const parts: string[] = []
  let current = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!
    if (c === '\\' && (pattern[i + 1] === '*' || pattern[i + 1] === '\\')) {
      current += pattern[i + 1]
      i++
    } else if (c === '*') {
      parts.push(current)
      current = ''
    } else current += c
  }
  parts.push(current)
  return { source: pattern, parts }
}

/**
 * True when `text` matches the glob.
 *
 * @example
 * ```ts
 * globMatches(compileGlob('*@example.com'), 'bob@example.com') // true
 * ```
 */
export function globMatches(glob: Glob, text: string): boolean {
  const parts = glob.parts
  const first = parts[0]!
  if (parts.length === 1) return text === first
  const last = parts[parts.length - 1]!
  if (text.length < first.length + last.length) return false
  if (!text.startsWith(first) || !text.endsWith(last)) return false
  let pos = first.length
  const end = text.length - last.length
  for (let i = 1; i < parts.length - 1; i++) {
    const part = parts[i]!
    if (part === '') continue
    const at = text.indexOf(part, pos)
    if (at < 0 || at + part.length > end) return false
    pos = at + part.length
  }
  return true
}

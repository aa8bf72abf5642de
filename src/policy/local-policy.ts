import type { ValidatedChain } from '../ucan/index.ts'

/** A question the agent's local policy answers, for a call or for one of its derived actions. */
export interface PolicyQuestion {
  /** `request`: the call itself; `action`: a derived action checked with `ctx.authorize`. */
  phase: 'request' | 'action'
  /** The intent of the call. */
  intent: string
  /** The command being checked (the intent, or the derived action's command). */
  cmd: string
  /** The arguments being checked. */
  args: unknown
  /** The caller, proven by the connection. */
  caller: { peer: string; did: string }
  /** The caller's validated UCAN chain. */
  chain: ValidatedChain
}

/**
 * The agent's own rules, applied after the caller's UCAN chain allowed an action: return `true` to
 * allow; `false` or a string (the reason) to refuse. Anything else refuses too (deny by default).
 *
 * @example
 * ```ts
 * const policy: LocalPolicy = ({ cmd, args }) =>
 *   cmd !== '/sql/query' || (args as { table?: string }).table !== 'secrets' || 'the secrets table is off limits'
 * ```
 */
export type LocalPolicy = (question: PolicyQuestion) => boolean | string | Promise<boolean | string>

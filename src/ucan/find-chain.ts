import { commandProves } from './command.ts'
import { MAX_CHAIN_LENGTH } from './constants.ts'
import type { Delegation } from './delegation.ts'

/**
 * Find, among `delegations`, a chain that grants `holder` the command `cmd`: root first, each
 * `aud` the next `iss`, the root issued by its subject, every command proving the next. Returns the
 * shortest such chain, or undefined. Expired delegations are skipped when `now` is given; policies
 * are not evaluated here (the verifier does that).
 *
 * @example
 * ```ts
 * const chain = findChain([root, child], orchestrator.did, '/k8s/scale')
 * const prf = chain?.map((d) => d.cid)
 * ```
 */
export function findChain(
  delegations: Iterable<Delegation>,
  holder: string,
  cmd: string,
  now?: number
): Delegation[] | undefined {
  const byAudience = new Map<string, Delegation[]>()
  for (const d of delegations) {
    if (now !== undefined && d.payload.exp !== null && d.payload.exp < now) continue
    const list = byAudience.get(d.payload.aud) ?? []
    list.push(d)
    byAudience.set(d.payload.aud, list)
  }
  // breadth-first from the holder back to a root: the first root reached gives the shortest chain
  let frontier: Delegation[][] = (byAudience.get(holder) ?? [])
    .filter((d) => commandProves(d.payload.cmd, cmd))
    .map((d) => [d])
  for (let depth = 0; depth < MAX_CHAIN_LENGTH && frontier.length > 0; depth++) {
    const next: Delegation[][] = []
    for (const path of frontier) {
      const head = path[0]!
      if (head.payload.sub === head.payload.iss) return path
      for (const parent of byAudience.get(head.payload.iss) ?? []) {
        if (path.includes(parent)) continue
        if (!commandProves(parent.payload.cmd, head.payload.cmd)) continue
        if (parent.payload.sub !== null && parent.payload.sub !== head.payload.sub) continue
        next.push([parent, ...path])
      }
    }
    frontier = next
  }
  return undefined
}

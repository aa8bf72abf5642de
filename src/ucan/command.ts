import { UcanError } from './errors.ts'

/**
 * Commands: lowercase, `/`-segmented paths (`/`, `/k8s`, `/k8s/scale`). A command proves a longer
 * one only at a segment boundary, `/` proves every command, and `/ucan/…` is reserved.
 */

const RESERVED = '/ucan'

/**
 * True when `cmd` is a well-formed command: starts with `/`, lowercase, no empty segment, no
 * trailing slash (except the top command `/` itself).
 *
 * @example
 * ```ts
 * isCommand('/k8s/scale') // true
 * isCommand('/K8s')       // false
 * isCommand('/k8s/')      // false
 * ```
 */
export function isCommand(cmd: unknown): cmd is string {
  if (typeof cmd !== 'string' || cmd.length === 0 || cmd[0] !== '/') return false
  if (cmd === '/') return true
  if (cmd.endsWith('/') || cmd.includes('//')) return false
  return cmd === cmd.toLowerCase()
}

/**
 * Throw a {@link UcanError} `InvalidCommand` unless `cmd` is well-formed (see {@link isCommand}).
 *
 * @example
 * ```ts
 * import { assertCommand, UcanError } from 'agentmesh/ucan'
 *
 * assertCommand('/k8s/scale') // ok
 * try {
 *   assertCommand('/K8s/scale')
 * } catch (err) {
 *   console.log(UcanError.is(err, 'InvalidCommand')) // true: commands are lowercase
 * }
 * ```
 */
export function assertCommand(cmd: unknown): asserts cmd is string {
  if (!isCommand(cmd)) throw new UcanError('InvalidCommand', `not a valid command: ${JSON.stringify(cmd)}`)
}

/**
 * True when `cmd` is in the reserved `/ucan` namespace.
 *
 * @example
 * ```ts
 * isReservedCommand('/ucan/revoke') // true
 * ```
 */
export function isReservedCommand(cmd: string): boolean {
  return cmd === RESERVED || cmd.startsWith(RESERVED + '/')
}

/**
 * True when a delegation of `parent` covers `child`: equal, `parent` is `/`, or `child` continues
 * `parent` at a segment boundary. Malformed commands prove nothing.
 *
 * @example
 * ```ts
 * commandProves('/k8s', '/k8s/scale') // true
 * commandProves('/k8s', '/k8sx')      // false
 * commandProves('/', '/anything')     // true
 * ```
 */
export function commandProves(parent: string, child: string): boolean {
  if (!isCommand(parent) || !isCommand(child)) return false
  if (parent === '/' || parent === child) return true
  return child.length > parent.length && child.startsWith(parent) && child.charCodeAt(parent.length) === 0x2f
}

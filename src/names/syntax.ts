import { MeshError } from '../errors.ts'
import { MAX_LABEL_LENGTH, MAX_NAME_LABELS, MIN_NAME_LABELS } from './constants.ts'

const LABEL = /^[a-z0-9-]+$/

/**
 * Check that `name` is an agent name: `org/segment/…/agent`, 2 to 8 labels of `[a-z0-9-]`,
 * 1 to 63 characters each.
 *
 * @throws {MeshError} `INVALID_ARGUMENT` saying what is wrong
 * @example
 * ```ts
 * assertName('acme/prod/k8s') // ok
 * assertName('Acme/prod')     // throws INVALID_ARGUMENT
 * ```
 */
export function assertName(name: unknown): asserts name is string {
  if (typeof name !== 'string') throw new MeshError('INVALID_ARGUMENT', 'a name must be a string')
  const labels = name.split('/')
  if (labels.length < MIN_NAME_LABELS || labels.length > MAX_NAME_LABELS) {
    throw new MeshError(
      'INVALID_ARGUMENT',
      `name ${JSON.stringify(name.slice(0, 80))} must have ${MIN_NAME_LABELS} to ${MAX_NAME_LABELS} labels separated by /`
    )
  }
  for (const label of labels) {
    if (label.length === 0 || label.length > MAX_LABEL_LENGTH || !LABEL.test(label)) {
      throw new MeshError(
        'INVALID_ARGUMENT',
        `label ${JSON.stringify(label.slice(0, 80))} of a name must be 1 to ${MAX_LABEL_LENGTH} characters of [a-z0-9-]`
      )
    }
  }
}

/**
 * True when `name` is a well-formed agent name (see {@link assertName}); never throws.
 *
 * @example
 * ```ts
 * import { isName } from 'agentmesh'
 *
 * console.log(isName('acme/prod/k8s')) // true
 * console.log(isName('Acme/prod'))     // false: labels are lowercase
 * console.log(isName('acme'))          // false: a name has 2 to 8 labels
 * ```
 */
export function isName(name: unknown): name is string {
  try {
    assertName(name)
    return true
  } catch {
    return false
  }
}

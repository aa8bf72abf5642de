import type { StandardJSONSchemaV1, StandardSchemaV1 } from '@standard-schema/spec'
import { MeshError } from '../errors.ts'
import { CHECKED_COMMANDS_MAX } from './constants.ts'
import { andThen, type MaybePromise } from './maybe-promise.ts'

/** Any Standard Schema (zod, valibot, arktype…). */
export type Schema<Input = unknown, Output = Input> = StandardSchemaV1<Input, Output>

/**
 * An intent's contract, declared once and shared by the agent that serves it and the callers that
 * call it: the command, a description for humans and LLM planners, and the schemas of its
 * arguments, result and (optionally) progress events.
 */
export interface IntentContract<Args = unknown, Result = unknown, Progress = unknown> {
  /** The command, `/`-segmented and lowercase (`/k8s/scale`). */
  readonly cmd: string
  /** What the intent does, for the agent card. */
  readonly description?: string
  /** Schema of the arguments; the agent validates every call against it before the handler runs. */
  readonly args?: Schema<unknown, Args>
  /** Schema of the result; the agent checks the handler's result against it. */
  readonly result?: Schema<unknown, Result>
  /** Schema of progress events, for the agent card. */
  readonly progress?: Schema<unknown, Progress>
}

/** The argument type a contract's callers pass. */
export type ArgsOf<C> = C extends IntentContract<infer A, unknown, unknown> ? A : never
/** The result type a contract's callers get. */
export type ResultOf<C> = C extends IntentContract<unknown, infer R, unknown> ? R : never
/** The progress type a contract's handlers send. */
export type ProgressOf<C> = C extends IntentContract<unknown, unknown, infer P> ? P : never

/** What {@link defineIntent} takes. */
export interface IntentDefinition<A extends Schema | undefined, R extends Schema | undefined, P extends Schema | undefined> {
  cmd: string
  description?: string
  args?: A
  result?: R
  progress?: P
}

/** The output type of a schema, or `unknown` when there is none. */
export type SchemaOutput<S> = S extends Schema ? StandardSchemaV1.InferOutput<S> : unknown

const COMMAND = /^\/([a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*)?$/

/**
 * Declare an intent once; serve it with `agent.handle(contract, handler)` and call it with
 * `agent.call(name, contract, args)`, both typed from the schemas.
 *
 * @example
 * ```ts
 * import { z } from 'zod'
 * import { defineIntent } from 'agentmesh'
 *
 * export const scale = defineIntent({
 *   cmd: '/k8s/scale',
 *   description: 'Scale a deployment',
 *   args: z.object({ namespace: z.string(), deployment: z.string(), replicas: z.number().int().min(0) }),
 *   result: z.object({ replicas: z.number() })
 * })
 * ```
 */
export function defineIntent<
  A extends Schema | undefined = undefined,
  R extends Schema | undefined = undefined,
  P extends Schema | undefined = undefined
>(definition: IntentDefinition<A, R, P>): IntentContract<SchemaOutput<A>, SchemaOutput<R>, SchemaOutput<P>> {
  assertCommand(definition.cmd)
  return Object.freeze({ ...definition }) as unknown as IntentContract<SchemaOutput<A>, SchemaOutput<R>, SchemaOutput<P>>
}

/**
 * Check that `cmd` is a command: `/`, or `/`-separated lowercase segments of `[a-z0-9._-]`.
 *
 * @throws {MeshError} `INVALID_ARGUMENT`
 */
export function assertCommand(cmd: unknown): asserts cmd is string {
  if (typeof cmd !== 'string' || cmd.length > 256 || !COMMAND.test(cmd)) {
    throw new MeshError(
      'INVALID_ARGUMENT',
      `command ${JSON.stringify(String(cmd).slice(0, 80))} must be / or lowercase /-separated segments`
    )
  }
}

/** Command strings already checked: a caller calls the same few, call after call. */
const checkedCommands = new Set<string>()

/**
 * The command of `intent`: a contract's, or the string itself once checked by {@link assertCommand}.
 *
 * @throws {MeshError} `INVALID_ARGUMENT` for a string that is not a command
 */
export function commandOf(intent: IntentContract | string): string {
  if (typeof intent !== 'string') return intent.cmd
  if (checkedCommands.has(intent)) return intent
  assertCommand(intent)
  if (checkedCommands.size < CHECKED_COMMANDS_MAX) checkedCommands.add(intent)
  return intent
}

/** One problem a schema found, as it crosses the wire. */
export interface SchemaIssue {
  message: string
  path: string[]
}

/**
 * Validate `value` against `schema`; the schema's output on success.
 *
 * @throws {MeshError} `code` (default `INVALID_ARGUMENT`) with `details.issues`
 */
export async function validateWith<T>(
  schema: Schema<unknown, T> | undefined,
  value: unknown,
  what: string,
  code: 'INVALID_ARGUMENT' | 'INTERNAL' = 'INVALID_ARGUMENT'
): Promise<T> {
  return await validateNow(schema, value, what, code)
}

/**
 * {@link validateWith} without a promise when the schema answers synchronously (zod, valibot and
 * arktype do for schemas without async refinements), or when there is no schema: the call path of
 * every request validates its arguments and its result.
 */
export function validateNow<T>(
  schema: Schema<unknown, T> | undefined,
  value: unknown,
  what: string,
  code: 'INVALID_ARGUMENT' | 'INTERNAL' = 'INVALID_ARGUMENT'
): MaybePromise<T> {
  if (schema === undefined) return value as T
  return andThen(schema['~standard'].validate(value), (outcome) => {
    if (outcome.issues === undefined) return outcome.value
    throw schemaError(outcome.issues, what, code)
  })
}

function schemaError(
  found: ReadonlyArray<StandardSchemaV1.Issue>,
  what: string,
  code: 'INVALID_ARGUMENT' | 'INTERNAL'
): MeshError {
  const issues: SchemaIssue[] = found.slice(0, 32).map((issue) => ({
    message: String(issue.message).slice(0, 500),
    path: (issue.path ?? []).map((p) => String(typeof p === 'object' && p !== null ? p.key : p))
  }))
  const first = issues[0]
  const where = first !== undefined && first.path.length > 0 ? ` at ${first.path.join('.')}` : ''
  return new MeshError(code, `${what} do not match the schema${where}: ${first?.message ?? 'invalid'}`, {
    details: { issues }
  })
}

/** The JSON Schema of a Standard Schema that can produce one (zod 4, valibot with its adapter…), else null. */
export function jsonSchemaOf(schema: Schema | undefined, io: 'input' | 'output'): Record<string, unknown> | null {
  if (schema === undefined) return null
  const converter = (schema as unknown as Partial<StandardJSONSchemaV1>)['~standard']?.jsonSchema
  if (converter === undefined) return null
  try {
    return converter[io]({ target: 'draft-2020-12' })
  } catch {
    return null
  }
}

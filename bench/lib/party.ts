// The child side of the runner's protocol: a party reads one JSON command a line on stdin and
// answers with one JSON line on stdout. It announces itself with a `ready` line, and it exits when
// its stdin ends (so a dead parent never leaves it behind) or after a hard time limit.
import { createInterface } from 'node:readline'

/** A command from the runner: an operation name and its arguments. */
export interface Command {
  id: number
  op: string
  [key: string]: unknown
}

/** What a party does: answer operations, and stop cleanly. */
export interface Party {
  ops: Record<string, (command: Command) => Promise<unknown> | unknown>
  stop(): Promise<void>
}

/** Longest a party may live, whatever happens: a bound on every run, quick or full. */
const HARD_LIMIT_MS = 30 * 60 * 1000

export function send(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`)
}

/** Start a party: run `setup`, announce `ready` with what it returns, then serve commands. */
export async function serveParty(
  setup: () => Promise<{ info: Record<string, unknown>; party: Party }>
): Promise<void> {
  const killer = setTimeout(() => {
    console.error('party reached its hard time limit, exiting')
    process.exit(3)
  }, HARD_LIMIT_MS)
  killer.unref()
  let party: Party | undefined
  let stopping = false
  const stop = async (code: number): Promise<void> => {
    if (stopping) return
    stopping = true
    const force = setTimeout(() => process.exit(code), 5_000)
    force.unref()
    try {
      await party?.stop()
    } catch (err) {
      console.error('stop failed', err)
    }
    process.exit(code)
  }
  process.on('SIGTERM', () => void stop(0))
  process.on('SIGINT', () => void stop(0))
  const lines = createInterface({ input: process.stdin })
  lines.on('close', () => void stop(0))
  try {
    const started = await setup()
    party = started.party
    send({ ready: true, pid: process.pid, ...started.info })
  } catch (err) {
    send({ ready: false, error: String((err as Error)?.stack ?? err) })
    await stop(1)
    return
  }
  lines.on('line', (line) => {
    if (line.trim() === '') return
    let command: Command
    try {
      command = JSON.parse(line) as Command
    } catch {
      return
    }
    if (command.op === 'exit') {
      void stop(0)
      return
    }
    const op = party?.ops[command.op]
    if (op === undefined) {
      send({ id: command.id, ok: false, error: `unknown op ${command.op}` })
      return
    }
    Promise.resolve()
      .then(() => op(command))
      .then(
        (result) => send({ id: command.id, ok: true, result }),
        (err: unknown) => send({ id: command.id, ok: false, error: String((err as Error)?.stack ?? err) })
      )
  })
}

/** The numeric argument `key` of a command, or `fallback`. */
export function num(command: Command, key: string, fallback: number): number {
  const value = command[key]
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback
}

/** The string argument `key` of a command. */
export function str(command: Command, key: string): string {
  const value = command[key]
  if (typeof value !== 'string') throw new Error(`missing string argument ${key}`)
  return value
}

/** The positional argument `index` of this process (after the script path), or `fallback`. */
export function arg(index: number, fallback?: string): string {
  const value = process.argv[2 + index] ?? fallback
  if (value === undefined) throw new Error(`missing argument ${index}`)
  return value
}

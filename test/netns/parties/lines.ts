import { createInterface } from 'node:readline'

/** Print one JSON line for the test. */
export function emit(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`)
}

/** Call `handle` for each JSON line on stdin; answer `{ id, ... }` with what it returns or throws. */
export function serveLines(handle: (request: Record<string, unknown>) => Promise<Record<string, unknown>>): void {
  createInterface({ input: process.stdin }).on('line', (line) => {
    let request: Record<string, unknown>
    try {
      request = JSON.parse(line) as Record<string, unknown>
    } catch {
      emit({ error: { code: 'INVALID_ARGUMENT', message: 'not JSON' } })
      return
    }
    handle(request)
      .then((answer) => emit({ id: request.id, ...answer }))
      .catch((err: unknown) => {
        const e = err as Error & { code?: string }
        emit({ id: request.id, error: { code: e.code ?? 'INTERNAL', message: e.message } })
      })
  })
}

/** `--flag value` pairs of argv. */
export function flags(argv = process.argv.slice(2)): Map<string, string> {
  const out = new Map<string, string>()
  for (let i = 0; i < argv.length; i += 2) out.set(argv[i]!.replace(/^--/, ''), argv[i + 1] ?? '')
  return out
}

/** The value of `--name`, or exit with a usage error naming it. */
export function required(args: Map<string, string>, name: string): string {
  const value = args.get(name)
  if (value === undefined || value === '') {
    process.stderr.write(`missing --${name}\n`)
    process.exit(2)
  }
  return value
}

/** Exit cleanly on SIGTERM / stdin end, after `stop`. */
export function stopOn(stop: () => Promise<void>): void {
  let stopping = false
  const bye = (): void => {
    if (stopping) return
    stopping = true
    stop().finally(() => process.exit(0))
  }
  process.on('SIGTERM', bye)
  process.stdin.on('end', bye)
}

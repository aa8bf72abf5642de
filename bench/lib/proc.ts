// The parent side: start a party as its own OS process (same Node, same flags, so the
// `agentmesh-source` condition passes through), wait for its `ready` line, send it commands.
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const live = new Set<ChildProcess>()

/** Kill every party still running; called on exit and on signals. */
export function killAll(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  live.clear()
}
process.once('exit', killAll)

/** Kill `child` with the parties when the runner exits (for non-Node servers such as nats-server). */
export function track(child: ChildProcess): void {
  live.add(child)
  child.once('exit', () => live.delete(child))
}

export interface PartyHandle {
  readonly label: string
  readonly info: Record<string, unknown>
  readonly pid: number
  /** Run operation `op` with `args`; rejects with the party's error or after `timeoutMs`. */
  request<T = unknown>(op: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<T>
  /** Ask the party to stop, then kill it if it has not exited within 5 s. */
  stop(): Promise<void>
}

export interface StartOptions {
  /** Extra Node flags, e.g. `--cpu-prof`. */
  nodeFlags?: string[]
  /** How long the party may take to become ready. */
  readyTimeoutMs?: number
  /** Print the party's stderr (always printed when it fails to start). */
  verbose?: boolean
  /** Run the party inside this network namespace (`ip netns exec`, which execs Node: same pid). */
  netns?: string
}

/** Start the party script `file` (a path relative to bench/parties/) with positional `args`. */
export async function startParty(
  label: string,
  file: string,
  args: string[] = [],
  options: StartOptions = {}
): Promise<PartyHandle> {
  const script = fileURLToPath(new URL(`../parties/${file}`, import.meta.url))
  const node = [process.execPath, ...process.execArgv, ...(options.nodeFlags ?? []), script, ...args]
  const argv = options.netns === undefined ? node : ['ip', 'netns', 'exec', options.netns, ...node]
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] })
  live.add(child)
  child.stdin!.on('error', () => {}) // a party that died is reported by its exit, not by EPIPE
  const stderr: string[] = []
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderr.push(line)
    if (stderr.length > 200) stderr.shift()
    if (options.verbose === true) console.error(`[${label}] ${line}`)
  })
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  let nextId = 1
  let onReady: ((info: Record<string, unknown>) => void) | undefined
  let onFail: ((err: Error) => void) | undefined
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    onReady = resolve
    onFail = reject
  })
  ready.catch(() => {})
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.startsWith('{')) {
      if (options.verbose === true) console.log(`[${label}] ${line}`)
      return
    }
    let message: Record<string, unknown>
    try {
      message = JSON.parse(line) as Record<string, unknown>
    } catch {
      return
    }
    if ('ready' in message) {
      if (message.ready === true) onReady?.(message)
      else onFail?.(new Error(`${label} failed to start: ${String(message.error)}`))
      return
    }
    const waiter = pending.get(Number(message.id))
    if (waiter === undefined) return
    pending.delete(Number(message.id))
    if (message.ok === true) waiter.resolve(message.result)
    else waiter.reject(new Error(`${label}: ${String(message.error)}`))
  })
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child)
      const err = new Error(
        `${label} exited (code ${code}, signal ${signal})${stderr.length > 0 ? `:\n${stderr.slice(-20).join('\n')}` : ''}`
      )
      onFail?.(err)
      for (const waiter of pending.values()) waiter.reject(err)
      pending.clear()
      resolve()
    })
  })
  const readyTimeout = setTimeout(
    () => onFail?.(new Error(`${label} not ready within ${options.readyTimeoutMs ?? 60_000} ms`)),
    options.readyTimeoutMs ?? 60_000
  )
  let info: Record<string, unknown>
  try {
    info = await ready
  } catch (err) {
    child.kill('SIGKILL')
    await exited
    throw err
  } finally {
    clearTimeout(readyTimeout)
  }
  const handle: PartyHandle = {
    label,
    info,
    pid: child.pid ?? -1,
    request<T>(op: string, args: Record<string, unknown> = {}, timeoutMs = 120_000): Promise<T> {
      const id = nextId++
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id)
          reject(new Error(`${label}: ${op} timed out after ${timeoutMs} ms`))
        }, timeoutMs)
        pending.set(id, {
          resolve: (v) => {
            clearTimeout(timer)
            resolve(v as T)
          },
          reject: (e) => {
            clearTimeout(timer)
            reject(e)
          }
        })
        child.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`)
      })
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.stdin!.end()
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    }
  }
  return handle
}

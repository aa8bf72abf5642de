// The demo harness behind every example's run.ts: starts each party (relay, agents, orchestrators)
// as its own Node process, echoes its output with a `[label]` prefix, waits for the JSON line a
// party prints when it is ready, and at the end (or on an error, the watchdog, Ctrl-C) stops every
// process, waits until they are gone and deletes the temporary folder. Not part of any template: in
// a deployment of your own, a service manager starts the parties.
import { type ChildProcess, spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/** One party, started by {@link Demo.start}. */
export interface Party {
  proc: ChildProcess
  /** The first line the party printed that starts with `{`, parsed; rejects if the party exits first. */
  json: Promise<Record<string, unknown>>
  /** The party's exit code (null when a signal ended it). */
  exited: Promise<number | null>
}

export interface DemoOptions {
  /** The run.ts's `import.meta.url`: party files are resolved next to it. */
  from: string
  /** Prefix of the temporary folder for keys and tokens, e.g. `agentmesh-demo-`. */
  tempPrefix: string
  /** The last line printed when the demo's code is 0 (otherwise: `demo failed`). */
  finished: string
}

/** What a demo's main function works with; see {@link runDemo}. */
export class Demo {
  /** A fresh temporary folder, deleted at the end whatever happens. */
  readonly dir: string
  private readonly from: string
  private readonly children: ChildProcess[] = []
  private readonly cleanUps: Array<() => void> = [] // synchronous, so that they also run on exit
  private timer: NodeJS.Timeout | undefined

  constructor(from: string, dir: string) {
    this.from = from
    this.dir = dir
  }

  /** Start `file` (relative to the run.ts) with Node and the same flags as this process. */
  start(label: string, file: string | URL, args: string[] = [], env: Record<string, string> = {}): Party {
    const path = fileURLToPath(new URL(file, this.from))
    const proc = spawn(process.execPath, [...process.execArgv, path, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env }
    })
    this.children.push(proc)
    const json = new Promise<Record<string, unknown>>((resolve, reject) => {
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        if (line.startsWith('{')) resolve(JSON.parse(line) as Record<string, unknown>)
        else console.log(`[${label}] ${line}`)
      })
      proc.once('exit', (code) => reject(new Error(`${label} exited with code ${code} before it was ready`)))
    })
    json.catch(() => {}) // a process that exits before its JSON line is reported by whoever awaits it
    createInterface({ input: proc.stderr! }).on('line', (line) => console.error(`[${label}] ${line}`))
    const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve))
    return { proc, json, exited }
  }

  /** Start the relay every example shares (`shared/relay.ts`); resolves with the address it listens on. */
  async startRelay(authorityDid: string): Promise<string> {
    const relay = this.start('relay', new URL('./relay.ts', import.meta.url), [authorityDid])
    return String((await relay.json).relay)
  }

  /** Stop the demo with code 1 if it is still running in `ms` milliseconds. */
  watchdog(ms: number): void {
    this.timer = setTimeout(() => {
      console.error(`demo took longer than ${ms / 1000} s, stopping`)
      process.exit(1) // the exit handler stops every process and cleans up
    }, ms)
  }

  /** Run `fn` at the end, after the processes were told to stop; synchronous, so it also runs on exit. */
  onCleanUp(fn: () => void): void {
    this.cleanUps.push(fn)
  }

  private running(): ChildProcess[] {
    return this.children.filter((c) => c.exitCode === null && c.signalCode === null)
  }

  /** Ask every process still running to stop (SIGTERM) and wait until they have exited. */
  async stopAll(): Promise<void> {
    const left = this.running()
    for (const child of left) child.kill('SIGTERM')
    await Promise.all(left.map((c) => new Promise((resolve) => c.once('exit', resolve))))
  }

  /** Signal every process still running, run the clean-ups (each once), delete the folder; synchronous. */
  cleanUp(): void {
    clearTimeout(this.timer)
    for (const child of this.running()) child.kill('SIGTERM')
    for (const fn of this.cleanUps.splice(0)) fn()
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/**
 * Run a demo: `main` starts the parties with `demo.start` and returns the exit code of the one that
 * decides the outcome. Then every process is stopped and waited for, the clean-ups run, the folder is
 * deleted, and `options.finished` (or `demo failed`) is printed; the exit code is `main`'s.
 */
export async function runDemo(
  options: DemoOptions,
  main: (demo: Demo) => Promise<number | null>
): Promise<void> {
  const demo = new Demo(options.from, await mkdtemp(join(tmpdir(), options.tempPrefix)))
  // on every way out: normal end, error, watchdog, Ctrl-C
  process.once('exit', () => demo.cleanUp())
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(1))
  try {
    const code = await main(demo)
    await demo.stopAll()
    demo.cleanUp()
    console.log(code === 0 ? options.finished : 'demo failed')
    process.exitCode = code ?? 1
  } catch (err) {
    console.error(err)
    process.exitCode = 1
    await demo.stopAll()
  } finally {
    demo.cleanUp()
  }
}

// The database-agent demo: starts a throwaway PostgreSQL, a relay, the database agent and two
// orchestrators (one after the other) as OS processes on loopback, then stops and deletes everything.
import { type ChildProcess, spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { setUpAuthority } from './authority.ts'
import { type Postgres, startPostgres } from './postgres.ts'

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url))
const children: ChildProcess[] = []
let postgres: Postgres | undefined

/** Start `file` with Node, echo its output with a prefix, resolve on its first JSON line. */
function start(label: string, file: string, args: string[], env: Record<string, string> = {}) {
  const proc = spawn(process.execPath, [...process.execArgv, here(file), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env }
  })
  children.push(proc)
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
  return { json, exited }
}

const dir = await mkdtemp(join(tmpdir(), 'agentmesh-db-demo-'))

const running = (): ChildProcess[] => children.filter((c) => c.exitCode === null && c.signalCode === null)

/** Stop every process and the database, delete the keys; synchronous, so it also runs on exit. */
function cleanUp(): void {
  for (const child of running()) child.kill('SIGTERM')
  postgres?.stop()
  postgres = undefined
  rmSync(dir, { recursive: true, force: true })
}
// on every way out: normal end, error, watchdog, Ctrl-C
process.once('exit', cleanUp)
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(1))

/** Ask every process to stop and wait until they have (the agent closes its connections first). */
async function stopChildren(): Promise<void> {
  const left = running()
  for (const child of left) child.kill('SIGTERM')
  await Promise.all(left.map((c) => new Promise((resolve) => c.once('exit', resolve))))
}

try {
  const started = performance.now()
  postgres = await startPostgres()
  const shown = postgres.url.replace(/:[^:@]*@/, ':…@') // hide the password, even here
  console.log(
    `[operator] PostgreSQL up in ${(performance.now() - started).toFixed(0)} ms; the agent will use ${shown}`
  )
  // the watchdog starts once the database is up (a first run may spend minutes installing it)
  const watchdog = setTimeout(() => {
    console.error('demo took longer than 30 s, stopping')
    process.exit(1)
  }, 30_000)
  const { authorityDid } = await setUpAuthority(dir)
  console.log(
    '[operator] granted acme/prod/db; delegated /sql: read only to the analyst, orders only to the writer'
  )
  const relay = start('relay', './relay.ts', [authorityDid])
  const relayAddr = String((await relay.json).relay)
  const agent = start('agent', './agent.ts', [relayAddr, authorityDid, dir], { DATABASE_URL: postgres.url })
  await agent.json
  let code: number | null = 0
  for (const role of ['analyst', 'orders-service']) {
    code = await start(role, './orchestrator.ts', [relayAddr, authorityDid, dir, role]).exited
    if (code !== 0) break
  }
  clearTimeout(watchdog)
  await stopChildren()
  cleanUp()
  console.log(code === 0 ? 'demo finished: PostgreSQL stopped and deleted, no process left' : 'demo failed')
  process.exitCode = code ?? 1
} catch (err) {
  console.error(err)
  process.exitCode = 1
} finally {
  cleanUp()
}

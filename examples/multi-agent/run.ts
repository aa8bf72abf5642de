// The multi-agent demo: a relay, a librarian agent, a compliance agent and an orchestrator as four OS
// processes on loopback; shows what happens, and stops everything.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { setUpAuthority } from './authority.ts'

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url))
const children: ChildProcess[] = []

/** Start `file` with Node, echo its output with a prefix, resolve on its first JSON line. */
function start(
  label: string,
  file: string,
  args: string[] = []
): { proc: ChildProcess; json: Promise<Record<string, unknown>> } {
  const proc = spawn(process.execPath, [...process.execArgv, here(file), ...args], {
    stdio: ['ignore', 'pipe', 'pipe']
  })
  children.push(proc)
  let resolveJson: (value: Record<string, unknown>) => void
  let rejectJson: (err: Error) => void
  const json = new Promise<Record<string, unknown>>((resolve, reject) => {
    resolveJson = resolve
    rejectJson = reject
  })
  json.catch(() => {}) // a process that exits before its JSON line is reported by whoever awaits it
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    if (line.startsWith('{')) resolveJson(JSON.parse(line) as Record<string, unknown>)
    else console.log(`[${label}] ${line}`)
  })
  createInterface({ input: proc.stderr! }).on('line', (line) => console.error(`[${label}] ${line}`))
  proc.once('exit', (code) => rejectJson(new Error(`${label} exited with code ${code} before it was ready`)))
  return { proc, json }
}

function stopAll(): void {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM')
}
process.once('exit', stopAll)
const watchdog = setTimeout(() => {
  console.error('demo took longer than 30 s, stopping')
  stopAll()
  process.exit(1)
}, 30_000)

const dir = await mkdtemp(join(tmpdir(), 'agentmesh-multi-'))
try {
  const { authorityDid } = await setUpAuthority(dir)
  console.log(`[operator] authority ${authorityDid.slice(0, 20)}… named acme/prod/librarian and acme/prod/compliance, and delegated /library and /compliance to the orchestrator`)
  const relay = start('relay', './relay.ts', [authorityDid])
  const relayAddr = String((await relay.json).relay)
  const librarian = start('librarian', './librarian.ts', [relayAddr, authorityDid, dir])
  const compliance = start('compliance', './compliance.ts', [relayAddr, authorityDid, dir])
  await Promise.all([librarian.json, compliance.json])
  const orchestrator = start('orchestrator', './orchestrator.ts', [relayAddr, authorityDid, dir])
  const code = await new Promise<number | null>((resolve) => orchestrator.proc.once('exit', resolve))
  stopAll()
  await Promise.all(
    children.map((c) => (c.exitCode !== null ? undefined : new Promise((resolve) => c.once('exit', resolve))))
  )
  clearTimeout(watchdog)
  console.log(code === 0 ? "demo finished: an onward call on the orchestrator's behalf allowed, one beyond its hand-over refused" : 'demo failed')
  process.exitCode = code ?? 1
} catch (err) {
  console.error(err)
  stopAll()
  clearTimeout(watchdog)
  process.exitCode = 1
} finally {
  await rm(dir, { recursive: true, force: true })
}

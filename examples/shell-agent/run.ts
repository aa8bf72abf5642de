// The shell agent demo: a relay, the VM agent and an orchestrator as three OS processes on loopback;
// then, in this process, what the agent would have executed had a policy let the injection through.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { setUpAuthority } from './authority.ts'
import { PROGRAMS, runProgram } from './exec.ts'

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
  console.error('demo took longer than 15 s, stopping')
  stopAll()
  process.exit(1)
}, 15_000)

const dir = await mkdtemp(join(tmpdir(), 'agentmesh-shell-'))
try {
  const { authorityDid } = await setUpAuthority(dir)
  console.log(`[operator] authority ${authorityDid.slice(0, 20)}… named the VM agent acme/prod/web-1, and delegated /shell for systemctl status|restart and journalctl -u, units nginx|redis`)
  const relay = start('relay', './relay.ts', [authorityDid])
  const relayAddr = String((await relay.json).relay)
  const agent = start('agent', './agent.ts', [relayAddr, authorityDid, dir])
  await agent.json
  const orchestrator = start('orchestrator', './orchestrator.ts', [relayAddr, authorityDid, dir])
  const code = await new Promise<number | null>((resolve) => orchestrator.proc.once('exit', resolve))
  stopAll()
  await Promise.all(
    children.map((c) => (c.exitCode !== null ? undefined : new Promise((resolve) => c.once('exit', resolve))))
  )
  // had a policy allowed that unit, this is all the agent would do: one program, two arguments, no shell
  const injected = await runProgram(PROGRAMS.systemctl!, ['status', 'nginx; rm -rf /'])
  console.log('[run] what if a policy had let "nginx; rm -rf /" through? the agent runs execFile, no shell:')
  for (const line of injected.stdout.trimEnd().split('\n')) console.log(`    | ${line}`)
  clearTimeout(watchdog)
  console.log(code === 0 ? 'demo finished: one command ran, four were refused before anything ran' : 'demo failed')
  process.exitCode = code ?? 1
} catch (err) {
  console.error(err)
  stopAll()
  clearTimeout(watchdog)
  process.exitCode = 1
} finally {
  await rm(dir, { recursive: true, force: true })
}

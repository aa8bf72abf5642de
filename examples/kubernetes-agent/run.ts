// The kubernetes-agent demo: starts a stand-in Kubernetes API server, a relay, the Kubernetes agent
// and an orchestrator as OS processes on loopback, shows what reached the API server, stops them all.
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { setUpAuthority } from './authority.ts'

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url))
const children: ChildProcess[] = []

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

const dir = await mkdtemp(join(tmpdir(), 'agentmesh-k8s-demo-'))
const running = (): ChildProcess[] => children.filter((c) => c.exitCode === null && c.signalCode === null)

/** Stop every process and delete the keys and kubeconfig; synchronous, so it also runs on exit. */
function cleanUp(): void {
  for (const child of running()) child.kill('SIGTERM')
  rmSync(dir, { recursive: true, force: true })
}
// on every way out: normal end, error, watchdog, Ctrl-C
process.once('exit', cleanUp)
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(1))
const watchdog = setTimeout(() => {
  console.error('demo took longer than 20 s, stopping')
  process.exit(1)
}, 20_000)

try {
  const { authorityDid } = await setUpAuthority(dir)
  console.log(
    '[operator] granted acme/prod/k8s; delegated /k8s to the orchestrator in web-* namespaces, replicas <= 10'
  )
  // the cluster: a stand-in API server over plain HTTP here (a real cluster's kubeconfig has its CA
  // instead of insecure-skip-tls-verify); the kubeconfig is the agent's alone (mode 0600)
  const token = randomBytes(16).toString('hex')
  const apiserver = String(
    (await start('apiserver', './fake-apiserver.ts', [], { FAKE_API_TOKEN: token }).json).apiserver
  )
  const kubeconfig = `apiVersion: v1
kind: Config
clusters: [{ name: demo, cluster: { server: '${apiserver}', insecure-skip-tls-verify: true } }]
users: [{ name: mesh-agent, user: { token: '${token}' } }]
contexts: [{ name: demo, context: { cluster: demo, user: mesh-agent } }]
current-context: demo
`
  await writeFile(join(dir, 'kubeconfig.yaml'), kubeconfig, { mode: 0o600 })
  console.log(`[operator] fake Kubernetes API server at ${apiserver}; kubeconfig written for the agent only`)
  const relay = start('relay', './relay.ts', [authorityDid])
  const relayAddr = String((await relay.json).relay)
  await start('agent', './agent.ts', [relayAddr, authorityDid, dir]).json
  const code = await start('orchestrator', './orchestrator.ts', [relayAddr, authorityDid, dir]).exited
  // what reached the API server, as it recorded it
  const response = await fetch(`${apiserver}/_fake/requests`, {
    headers: { authorization: `Bearer ${token}` }
  })
  const requests = (await response.json()) as Array<{ method: string; path: string; body?: unknown }>
  const writes = requests.filter((r) => r.method !== 'GET')
  console.log(`[operator] the API server received ${requests.length} requests, ${writes.length} write(s):`)
  for (const w of writes) console.log(`[operator]     ${w.method} ${w.path} ${JSON.stringify(w.body)}`)
  console.log(JSON.stringify({ requests }))
  const left = running()
  for (const child of left) child.kill('SIGTERM')
  await Promise.all(left.map((c) => new Promise((resolve) => c.once('exit', resolve))))
  console.log(code === 0 ? 'demo finished: every API request checked before it was sent' : 'demo failed')
  process.exitCode = code ?? 1
} catch (err) {
  console.error(err)
  process.exitCode = 1
} finally {
  clearTimeout(watchdog)
  cleanUp()
}

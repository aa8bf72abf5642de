// CPU per call at concurrency 1, process by process (`node --conditions=agentmesh-source
// bench/cpu-per-call.ts [--pin]`, about a minute): agentmesh relayed over TCP (caller, relay, agent)
// against NATS request/reply (caller, broker, responder). Each round runs 3,000 sequential calls per
// system, interleaved, and reads every process's user and system time from /proc before and after.
// With --pin every process of both systems runs on vCPU 0 (taskset), so that no wake-up crosses
// vCPUs and the latency is the CPU of the chain. Writes bench/results/cpu-per-call{,-pinned}.{json,md}.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { startAgent } from './lib/agents.ts'
import { createBenchAuthority } from './lib/authority.ts'
import { machine } from './lib/machine.ts'
import { ensureNatsServer, startNatsServer } from './lib/nats-server.ts'
import { killAll, type PartyHandle, startParty } from './lib/proc.ts'
import { median, round } from './lib/stats.ts'

const ROUNDS = 5
const CALLS = 3_000
const pin = process.argv.includes('--pin')
const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim())

/** User and system CPU of a process so far, in µs. */
function cpuOf(pid: number): { user: number; sys: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  const toMicros = (ticks: string): number => (Number(ticks) * 1e6) / ticksPerSecond
  return { user: toMicros(fields[11]!), sys: toMicros(fields[12]!) }
}

interface System {
  id: string
  label: string
  caller: PartyHandle
  /** [caller, hub, server] process ids. */
  pids: [number, number, number]
  p50: number[]
  /** Per round, per process: µs of user and system CPU per call. */
  cpu: Array<Array<{ user: number; sys: number }>>
}

const binary = ensureNatsServer((line) => console.log(`[cpu-per-call] ${line}`))
if (binary === undefined) throw new Error('nats-server is needed (Debian package nats-server)')
const authority = await createBenchAuthority()
process.once('exit', () => authority.remove())
const relay = await startParty('relay', 'relay.ts', [authority.did])
const agent = await startAgent({ authority, relay, mode: 'tcp', name: 'acme/bench/tcp' })
const amCaller = await startParty('caller-agentmesh', 'caller.ts', ['agentmesh'])
await amCaller.request('connect', { target: agent.target }, 60_000)
const nats = await startNatsServer(binary)
const responder = await startParty('nats-responder', 'nats-responder.ts', [nats.url])
const natsCaller = await startParty('caller-nats', 'caller.ts', ['nats'])
await natsCaller.request('connect', { target: { url: nats.url } }, 60_000)
const systems: System[] = [
  { id: 'agentmesh', label: 'agentmesh relayed, TCP', caller: amCaller, pids: [amCaller.pid, relay.pid, agent.party.pid], p50: [], cpu: [] },
  { id: 'nats', label: 'NATS request/reply', caller: natsCaller, pids: [natsCaller.pid, nats.pid, responder.pid], p50: [], cpu: [] }
]
if (pin) for (const s of systems) for (const pid of s.pids) execFileSync('taskset', ['-a', '-pc', '0', String(pid)])
for (const s of systems) await s.caller.request('warmup', { ms: 3_000 })
for (let r = 0; r < ROUNDS; r++) {
  for (const s of r % 2 === 0 ? systems : [...systems].reverse()) {
    const before = s.pids.map(cpuOf)
    const rep = await s.caller.request<{ p50: number; n: number }>('latency', { n: CALLS, ms: 60_000 })
    const after = s.pids.map(cpuOf)
    s.p50.push(rep.p50)
    s.cpu.push(after.map((a, i) => ({ user: (a.user - before[i]!.user) / rep.n, sys: (a.sys - before[i]!.sys) / rep.n })))
    console.log(`[cpu-per-call] round ${r + 1}/${ROUNDS} ${s.id}: p50 ${round(rep.p50)} ms`)
  }
}
for (const s of systems) await s.caller.stop()
await responder.stop()
await nats.stop()
await agent.stop()
await relay.stop()
killAll()

const part = (s: System, i: number, kind: 'user' | 'sys'): number => round(median(s.cpu.map((c) => c[i]![kind])), 0)
const rows = systems.map((s) => ({
  system: s.label,
  p50Ms: round(median(s.p50)),
  userMicros: [0, 1, 2].map((i) => part(s, i, 'user')),
  sysMicros: [0, 1, 2].map((i) => part(s, i, 'sys'))
}))
const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0)
const host = machine()
const md = [
  `# CPU per call at concurrency 1 (\`bench/cpu-per-call.ts${pin ? ' --pin' : ''}\`)`,
  '',
  `${String(host.cpuModel)}, ${String(host.cores)} cores, Node ${process.version}, commit ${String(host.commit)}. ${ROUNDS} interleaved rounds of ${CALLS} sequential calls per system${pin ? ', every process pinned to vCPU 0' : ''}; user and system CPU per call of each process from /proc (${ticksPerSecond} ticks a second: each figure is good to about ${round(1e6 / ticksPerSecond / CALLS, 1)} µs), medians over rounds.`,
  '',
  '| system | p50 ms | caller user µs | hub user µs | server user µs | caller sys µs | hub sys µs | server sys µs | all processes µs |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${r.system} | ${r.p50Ms} | ${r.userMicros.join(' | ')} | ${r.sysMicros.join(' | ')} | ${sum(r.userMicros) + sum(r.sysMicros)} |`),
  '',
  'Hub: the relay for agentmesh, nats-server (Go) for NATS; server: the agent, the NATS responder (Node).',
  ''
].join('\n')
const name = pin ? 'cpu-per-call-pinned' : 'cpu-per-call'
const dir = new URL('./results/', import.meta.url)
mkdirSync(dir, { recursive: true })
writeFileSync(new URL(`${name}.json`, dir), `${JSON.stringify({ machine: host, pin, rounds: ROUNDS, calls: CALLS, rows }, null, 2)}\n`)
writeFileSync(new URL(`${name}.md`, dir), md)
console.log(md)
process.exit(0)

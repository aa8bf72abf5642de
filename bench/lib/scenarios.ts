// The two scenarios beyond the per-system table (issue 7):
//
// - Authorization cost: the same small calls, relayed over TCP, with no UCAN at all (the agent runs
//   allowAuthenticatedPeers and the caller holds no delegation), a 1-link delegation
//   (authority → caller), a 3-link chain (authority → team → ops → caller), and the 1-link chain
//   with a fully signed invocation on every call. The UCAN variants call one and the same agent;
//   repetitions interleave the variants (rotating their order), so drift hits them all alike.
//   Besides latency and throughput, the agent's own CPU time per call is measured, which is where
//   authorization runs.
//
// - Relay capacity: one relay process (its own, with --expose-gc) and idle agents held on it in
//   steps (full: 1,000 then 10,000; quick: 200). Each idle agent is a full agentmesh agent with its
//   own naming right from the bench authority (no allow list: the relay's admission asks every
//   agent for its right, as in production), many per worker process. For each step: the rate at
//   which reservations were granted, relay RSS and heap per agent (after a GC), relay CPU while the
//   agents sit idle, and small-intent latency and throughput through the same relay meanwhile.
import { type StartedAgent, startAgent } from './agents.ts'
import type { BenchAuthority } from './authority.ts'
import { type PartyHandle, startParty } from './proc.ts'
import type { AuthCost, AuthCostRow, Capacity, CapacityStep } from './report.ts'
import { median, round } from './stats.ts'

export interface ScenarioEnv {
  authority: BenchAuthority
  /** The shared relay of the system table. */
  relay(): Promise<PartyHandle>
  verbose: boolean
  log(line: string): void
  /** Wall-clock time after which the scenario cuts repetitions short. */
  deadline: number
}

type Latency = { p50: number; p99: number; n: number }
type Throughput = { callsPerSec: number; calls: number; errors: number; firstError?: string }
type Cpu = { user: number; system: number }

const cpuMicros = (cpu: Cpu): number => cpu.user + cpu.system

async function startCaller(label: string, target: Record<string, unknown>, warmupMs: number, verbose: boolean) {
  const caller = await startParty(label, 'caller.ts', ['agentmesh'], { verbose })
  try {
    await caller.request('connect', { target }, 60_000)
    await caller.request('warmup', { ms: warmupMs })
  } catch (err) {
    await caller.stop()
    throw err
  }
  return caller
}

export interface AuthCostConfig {
  reps: number
  warmupMs: number
  latencyCalls: number
  latencyMaxMs: number
  throughputMs: number
  concurrency: number
}

interface Variant {
  id: string
  label: string
  links: number
  signed: boolean
  agent: StartedAgent
  caller?: PartyHandle
  lat: Latency[]
  tput: Throughput[]
  cpuPerCall: number[]
}

/** Same calls, same relay, with none, 1 or 3 delegation links (and 1 link, signed invocation). */
export async function runAuthCost(env: ScenarioEnv, config: AuthCostConfig): Promise<AuthCost> {
  const relay = await env.relay()
  const started: StartedAgent[] = []
  const variants: Variant[] = []
  try {
    const base = { authority: env.authority, relay, mode: 'tcp' as const, verbose: env.verbose }
    const open = await startAgent({ ...base, name: 'acme/bench/auth-open', auth: 'open' })
    started.push(open)
    const ucan = await startAgent({ ...base, name: 'acme/bench/auth-ucan' })
    started.push(ucan)
    const mk = (id: string, label: string, links: number, signed: boolean, agent: StartedAgent): Variant => ({
      id,
      label,
      links,
      signed,
      agent,
      lat: [],
      tput: [],
      cpuPerCall: []
    })
    variants.push(
      mk('none', 'no UCAN (allowAuthenticatedPeers, no chain sent)', 0, false, open),
      mk('1-link', '1-link delegation (authority → caller)', 1, false, ucan),
      mk('3-link', '3-link chain (authority → team → ops → caller)', 3, false, ucan),
      mk('1-link-signed', '1-link delegation, signed invocation per call', 1, true, ucan)
    )
    const targets: Record<string, Record<string, unknown>> = {
      none: open.target,
      '1-link': ucan.targetFor('ucan'),
      '3-link': ucan.targetFor('chain3'),
      '1-link-signed': ucan.targetFor('ucan', { signed: true })
    }
    for (const v of variants) {
      v.caller = await startCaller(`caller-auth-${v.id}`, targets[v.id]!, config.warmupMs, env.verbose)
    }
    for (let r = 0; r < config.reps && Date.now() < env.deadline; r++) {
      const order = variants.map((_, i) => variants[(i + r) % variants.length]!)
      for (const v of order) {
        v.lat.push(await v.caller!.request<Latency>('latency', { n: config.latencyCalls, ms: config.latencyMaxMs }))
        const before = await v.agent.party.request<{ cpu: Cpu }>('stats')
        const t = await v.caller!.request<Throughput>('throughput', {
          concurrency: config.concurrency,
          ms: config.throughputMs
        })
        const after = await v.agent.party.request<{ cpu: Cpu }>('stats')
        v.tput.push(t)
        if (t.calls > 0) v.cpuPerCall.push((cpuMicros(after.cpu) - cpuMicros(before.cpu)) / t.calls)
      }
    }
    const rows: AuthCostRow[] = variants.map((v) => ({
      id: v.id,
      label: v.label,
      links: v.links,
      signed: v.signed,
      p50: round(median(v.lat.map((l) => l.p50)), 4),
      p99: round(median(v.lat.map((l) => l.p99)), 4),
      callsPerSec: round(median(v.tput.map((t) => t.callsPerSec)), 1),
      agentCpuUsPerCall: round(median(v.cpuPerCall), 1),
      errors: v.tput.reduce((a, t) => a + t.errors, 0),
      reps: v.lat.length
    }))
    return { concurrency: config.concurrency, rows }
  } finally {
    await Promise.allSettled(variants.map((v) => v.caller?.stop()))
    await Promise.allSettled(started.map((a) => a.stop()))
  }
}

export interface CapacityConfig {
  /** Idle agents held at each step, increasing. */
  steps: number[]
  workers: number
  /** Agents each worker starts at once. */
  concurrency: number
  reps: number
  warmupMs: number
  latencyCalls: number
  latencyMaxMs: number
  throughputMs: number
  concurrencies: number[]
  /** Milliseconds of idle time over which relay CPU is measured at each step. */
  idleCpuMs: number
  /**
   * Milliseconds to wait after a step's last reservation before measuring idle CPU: the agents'
   * first name registrations and the collection of the garbage the step made are not idle work.
   */
  idleSettleMs: number
  /** Longest wait for one step's agents to be reserved before the step is recorded as it stands. */
  stepTimeoutMs: number
}

type RelayStats = {
  rss: number
  heapUsed: number
  external: number
  reservations: number
  admitted: number
  refusals: number
  names: number
  connections: number
  cpu: Cpu
}
type WorkerStats = { agents: number; reserved: number; failed: number; rss: number }
type WorkerStart = { started: number; failed: number; errors: string[]; ms: number }

const MiB = 2 ** 20
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Idle agents on one relay, in steps: reservation rate, relay memory and CPU, calls meanwhile. */
export async function runCapacity(env: ScenarioEnv, config: CapacityConfig): Promise<Capacity> {
  const max = config.steps.at(-1) ?? 0
  const relay = await startParty(
    'relay-capacity',
    'relay.ts',
    [env.authority.did, JSON.stringify({ maxReservations: max + 100 })],
    { verbose: env.verbose, nodeFlags: ['--expose-gc'] }
  )
  const workers: PartyHandle[] = []
  let agent: StartedAgent | undefined
  let caller: PartyHandle | undefined
  const steps: CapacityStep[] = []
  const result: Capacity = {
    admission: 'naming right per agent (grantName from the bench authority), verified by the relay; no allow list',
    workers: config.workers,
    idleCpuMs: config.idleCpuMs,
    idleSettleMs: config.idleSettleMs,
    steps
  }
  try {
    const empty = await relay.request<RelayStats>('stats', { gc: true })
    result.relayEmptyRssMiB = round(empty.rss / MiB, 1)
    agent = await startAgent({
      authority: env.authority,
      relay,
      mode: 'tcp',
      name: 'acme/bench/capacity',
      verbose: env.verbose
    })
    caller = await startCaller('caller-capacity', agent.target, config.warmupMs, env.verbose)
    const base = await relay.request<RelayStats>('stats', { gc: true })
    const measureCalls = async (): Promise<Pick<CapacityStep, 'p50' | 'p99' | 'throughput' | 'errors'>> => {
      const lat: Latency[] = []
      const tput: Record<string, number[]> = {}
      let errors = 0
      for (let r = 0; r < config.reps; r++) {
        lat.push(await caller!.request<Latency>('latency', { n: config.latencyCalls, ms: config.latencyMaxMs }))
        for (const c of config.concurrencies) {
          const t = await caller!.request<Throughput>('throughput', { concurrency: c, ms: config.throughputMs })
          ;(tput[String(c)] ??= []).push(t.callsPerSec)
          errors += t.errors
        }
      }
      return {
        p50: round(median(lat.map((l) => l.p50)), 4),
        p99: round(median(lat.map((l) => l.p99)), 4),
        throughput: Object.fromEntries(Object.entries(tput).map(([c, v]) => [c, round(median(v), 1)])),
        errors
      }
    }
    const idleCpu = async (): Promise<number> => {
      const a = await relay.request<RelayStats>('stats')
      const t0 = performance.now()
      await sleep(config.idleCpuMs)
      const b = await relay.request<RelayStats>('stats')
      return round((100 * (cpuMicros(b.cpu) - cpuMicros(a.cpu))) / 1000 / (performance.now() - t0), 1)
    }
    steps.push({
      idle: 0,
      reserved: 0,
      failed: 0,
      relayRssMiB: round(base.rss / MiB, 1),
      relayHeapMiB: round(base.heapUsed / MiB, 1),
      relayIdleCpuPct: await idleCpu(),
      workersRssMiB: 0,
      ...(await measureCalls())
    })
    env.log(`capacity: 0 idle agents, relay ${steps[0]!.relayRssMiB} MiB`)

    for (let w = 0; w < config.workers; w++) {
      workers.push(
        await startParty(`idle-${w}`, 'idle-agents.ts', [String(relay.info.tcp), env.authority.keyFile, String(w)], {
          verbose: env.verbose,
          nodeFlags: ['--max-old-space-size=8192']
        })
      )
    }
    let held = 0
    for (const target of config.steps) {
      if (Date.now() >= env.deadline) {
        result.note = `time budget reached before ${target} idle agents`
        break
      }
      const add = target - held
      const share = (w: number): number => Math.floor(add / config.workers) + (w < add % config.workers ? 1 : 0)
      const cpu0 = await relay.request<RelayStats>('stats')
      const t0 = performance.now()
      let last = 0
      const progress = setInterval(() => {
        relay
          .request<RelayStats>('stats', {}, 10_000)
          .then((s) => {
            const pct = Math.floor((10 * (s.reservations - 1)) / target)
            if (pct > last) {
              last = pct
              env.log(`capacity: ${s.reservations - 1}/${target} reservations`)
            }
          })
          .catch(() => {})
      }, 5_000)
      let started: WorkerStart[] | undefined
      try {
        const all = Promise.all(
          workers.map((w, i) =>
            w.request<WorkerStart>('start', { count: share(i), concurrency: config.concurrency }, 30 * 60_000)
          )
        )
        all.catch(() => {})
        // a relay that saturates stops granting: record the plateau instead of waiting forever
        let timer: ReturnType<typeof setTimeout> | undefined
        const timeout = new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), config.stepTimeoutMs)
        })
        started = await Promise.race([all, timeout]).finally(() => clearTimeout(timer))
      } finally {
        clearInterval(progress)
      }
      const seconds = (performance.now() - t0) / 1000
      const cpu1 = await relay.request<RelayStats>('stats')
      held = target
      await sleep(config.idleSettleMs)
      const relayIdleCpuPct = await idleCpu()
      const stats = await relay.request<RelayStats>('stats', { gc: true }, 60_000)
      const ws = await Promise.all(workers.map((w) => w.request<WorkerStats>('stats')))
      const reserved = ws.reduce((a, s) => a + s.reserved, 0)
      const failed = started?.reduce((a, s) => a + s.failed, 0) ?? 0
      const idleAgents = stats.reservations - 1 // minus the measured agent
      const added = started === undefined ? Math.max(0, cpu1.reservations - cpu0.reservations) : add
      if (started === undefined) {
        result.note =
          `the step to ${target} idle agents did not complete within ${config.stepTimeoutMs / 1000} s: ` +
          `the relay held ${stats.reservations - 1} reservations and ${stats.connections} connections; ` +
          'that row is measured as it stood, and no larger step was tried'
      }
      const step: CapacityStep = {
        idle: target,
        reserved,
        failed,
        relayReservations: stats.reservations,
        relayNames: stats.names,
        relayConnections: stats.connections,
        addSeconds: round(seconds, 1),
        reservationsPerSec: round(added / seconds, 1),
        relayCpuMsPerReservation: round((cpuMicros(cpu1.cpu) - cpuMicros(cpu0.cpu)) / 1000 / Math.max(1, added), 2),
        relayRssMiB: round(stats.rss / MiB, 1),
        relayHeapMiB: round(stats.heapUsed / MiB, 1),
        relayRssPerAgentKiB: round((stats.rss - base.rss) / 1024 / Math.max(1, idleAgents), 1),
        relayHeapPerAgentKiB: round((stats.heapUsed - base.heapUsed) / 1024 / Math.max(1, idleAgents), 1),
        relayIdleCpuPct,
        workersRssMiB: round(ws.reduce((a, s) => a + s.rss, 0) / MiB, 0),
        ...(failed > 0 ? { startError: started?.flatMap((s) => s.errors)[0] } : {}),
        ...(started === undefined ? { incomplete: true } : {}),
        ...(await measureCalls())
      }
      steps.push(step)
      env.log(
        `capacity: ${target} idle agents (${reserved} reserved, ${failed} failed) in ${step.addSeconds} s, ` +
          `${step.reservationsPerSec}/s; relay ${step.relayRssMiB} MiB (${step.relayRssPerAgentKiB} KiB/agent), ` +
          `idle CPU ${relayIdleCpuPct}%; p50 ${step.p50} ms, ` +
          Object.entries(step.throughput)
            .map(([c, t]) => `c${c} ${t}/s`)
            .join(' ')
      )
      if (started === undefined) break
    }
  } catch (err) {
    result.error = String((err as Error)?.message ?? err).slice(0, 400)
    env.log(`capacity failed: ${String((err as Error)?.stack ?? err)}`)
  } finally {
    await caller?.stop().catch(() => {})
    await agent?.stop().catch(() => {})
    await Promise.allSettled(workers.map((w) => w.stop()))
    await relay.stop().catch(() => {})
  }
  return result
}

// The benchmark runner (`npm run bench`, `npm run bench -- --quick`). Every party runs in its own
// OS process on loopback: relay or broker, agent or server, and the caller that generates load.
// Every system's parties are started and warmed up first and stay up; the repetitions then run as
// rounds, each measuring every system back to back, so that the machine's drift over minutes hits
// all systems alike and agentmesh is compared with each peer round by round; medians over rounds.
// Each round also measures every system's c=1 latency a second time with the guest's idle polling
// at the kernel default, where the machine lets the bench set it (bench/lib/idle-poll.ts): on a VM
// that setting moves latency at c=1 more than most code does. Then cold calls per system, and two
// scenarios (bench/lib/scenarios.ts): authorization cost (no UCAN, 1-link and 3-link delegation
// chains, signed invocations) and relay capacity (idle agents held on one relay, in steps).
// Writes bench/results/latest.{json,md,svg}; latest.md carries the machine, the table and the chart.
//
// The bench authority (bench/lib/authority.ts) is trusted by the relays, which reserve slots only for
// agents proving a naming right from it, by the agents (deny by default) and by the callers (names).
//
// Flags: --quick (under 2 minutes), --only=id,id (systems by id, and `auth-cost`, `capacity`),
// --capacity=N,N (idle-agent steps), --no-idle-poll (no second c=1 pass with idle polling),
// --profile (cpu-prof the agentmesh parties into bench/results/profiles/), --verbose (show the
// parties' stderr).
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { type Auth, startAgent } from './lib/agents.ts'
import { type BenchAuthority, createBenchAuthority } from './lib/authority.ts'
import { haltPollSwitch, pollStateUs, readIdlePolicy } from './lib/idle-poll.ts'
import { machine } from './lib/machine.ts'
import { ensureNatsServer, type NatsServer, startNatsServer } from './lib/nats-server.ts'
import { type BenchNetns, createBenchNetns, NETNS_PUBLIC_IP6 } from './lib/netns.ts'
import { killAll, type PartyHandle, startParty } from './lib/proc.ts'
import { runAuthCost, runCapacity, type ScenarioEnv } from './lib/scenarios.ts'
import { createSelfSignedCert, type SelfSignedCert } from './lib/self-signed-cert.ts'
import {
  agentmeshRatios,
  type LatencyRep,
  type PolledLatencyRep,
  renderMarkdown,
  renderSvg,
  type Results,
  type SystemResult
} from './lib/report.ts'
import { median, quantile, round } from './lib/stats.ts'

const argv = process.argv.slice(2)
const quick = argv.includes('--quick')
const verbose = argv.includes('--verbose')
const profile = argv.includes('--profile')
const only = argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',')
  .filter((s) => s !== '')

const config = quick
  ? {
      reps: 3,
      warmupMs: 300,
      latencyCalls: 150,
      latencyMaxMs: 800,
      throughputMs: 300,
      concurrency: [1, 16, 64],
      large: [{ size: 1 << 20, calls: 4, maxMs: 1_500 }],
      coldReps: 4,
      coldWarmup: 1,
      budgetMs: 110_000,
      authCost: {
        reps: 2,
        warmupMs: 300,
        latencyCalls: 150,
        latencyMaxMs: 600,
        throughputMs: 400,
        concurrency: 64
      },
      capacity: {
        steps: [200],
        workers: 2,
        concurrency: 16,
        reps: 1,
        warmupMs: 300,
        latencyCalls: 150,
        latencyMaxMs: 600,
        throughputMs: 500,
        concurrencies: [16, 64],
        idleCpuMs: 1_000,
        idleSettleMs: 1_000,
        stepTimeoutMs: 30_000
      }
    }
  : {
      reps: 5,
      warmupMs: 2_000,
      latencyCalls: 2_000,
      latencyMaxMs: 10_000,
      throughputMs: 2_000,
      concurrency: [1, 16, 64, 256],
      large: [
        { size: 1 << 20, calls: 30, maxMs: 10_000 },
        { size: 64 << 20, calls: 2, maxMs: 30_000 }
      ],
      coldReps: 15,
      coldWarmup: 3,
      budgetMs: 40 * 60_000,
      authCost: {
        reps: 5,
        warmupMs: 1_000,
        latencyCalls: 1_000,
        latencyMaxMs: 5_000,
        throughputMs: 2_000,
        concurrency: 64
      },
      capacity: {
        steps: [1_000, 10_000],
        workers: 10,
        concurrency: 6,
        reps: 3,
        warmupMs: 1_000,
        latencyCalls: 1_000,
        latencyMaxMs: 5_000,
        throughputMs: 2_000,
        concurrencies: [16, 64],
        idleCpuMs: 20_000,
        idleSettleMs: 15_000,
        stepTimeoutMs: 10 * 60_000
      }
    }

// --capacity=1000,3000 overrides the idle-agent steps (for a capacity run on its own)
const capacitySteps = argv
  .find((a) => a.startsWith('--capacity='))
  ?.slice('--capacity='.length)
  .split(',')
  .map(Number)
  .filter((n) => Number.isSafeInteger(n) && n > 0)
if (capacitySteps !== undefined && capacitySteps.length > 0) config.capacity.steps = capacitySteps

/** Switches the guest's idle polling to the kernel default for the second c=1 pass; undefined: no such pass. */
const haltPoll = argv.includes('--no-idle-poll') ? undefined : haltPollSwitch()
// read after the switch is made: making it puts back a value a killed run left behind
const idlePolicy = readIdlePolicy()

const resultsDir = fileURLToPath(new URL('./results/', import.meta.url))
const profileDir = `${resultsDir}profiles`
const log = (line: string): void => console.log(`[bench] ${line}`)

/** A system under test: the server parties it needs and the caller driver that loads it. */
interface SystemSpec {
  id: string
  label: string
  /** agentmesh itself, a floor measured in the same run, or a peer system. */
  group: 'agentmesh' | 'floor' | 'peer'
  driver: string
  /** npm packages the system needs (checked before it runs; skipped when missing). */
  packages?: string[]
  /**
   * Start the server side; returns the caller's target, what to stop afterwards and, for a system
   * whose parties share a network namespace, the namespace the caller runs in.
   */
  start(ctx: Context): Promise<{ target: Record<string, unknown>; stop: () => Promise<void>; callerNetns?: string }>
  cold?: boolean
}

interface Context {
  authority: BenchAuthority
  relay(): Promise<PartyHandle>
  nats(): Promise<NatsServer | undefined>
  /** A second broker that requires TLS, with a throw-away certificate; throws Skip when it cannot run. */
  natsTls(): Promise<NatsServer & { caFile: string }>
}

const flags = (id: string): string[] =>
  profile
    ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${id}-${Date.now()}.cpuprofile`]
    : []

async function agentSystem(ctx: Context, mode: 'ws' | 'tcp' | 'direct', name: string, id: string, auth?: Auth) {
  const agent = await startAgent({
    authority: ctx.authority,
    relay: await ctx.relay(),
    mode,
    name,
    ...(auth === undefined ? {} : { auth }),
    verbose,
    nodeFlags: flags(`agent-${id}`)
  })
  return { target: agent.target, stop: () => agent.stop() }
}

const systems: SystemSpec[] = [
  {
    id: 'agentmesh-ws',
    label: 'agentmesh relayed, WebSockets',
    group: 'agentmesh',
    driver: 'agentmesh',
    cold: true,
    start: (ctx) => agentSystem(ctx, 'ws', 'acme/bench/ws', 'ws')
  },
  {
    id: 'agentmesh-tcp',
    label: 'agentmesh relayed, TCP',
    group: 'agentmesh',
    driver: 'agentmesh',
    cold: true,
    start: (ctx) => agentSystem(ctx, 'tcp', 'acme/bench/tcp', 'tcp')
  },
  {
    id: 'agentmesh-tcp-open',
    label: 'agentmesh relayed, TCP, no UCAN',
    group: 'agentmesh',
    driver: 'agentmesh',
    start: (ctx) => agentSystem(ctx, 'tcp', 'acme/bench/open', 'open', 'open')
  },
  {
    id: 'agentmesh-direct',
    label: 'agentmesh direct, TCP',
    group: 'agentmesh',
    driver: 'agentmesh',
    cold: true,
    start: (ctx) => agentSystem(ctx, 'direct', 'acme/bench/direct', 'direct')
  },
  {
    id: 'agentmesh-upgraded',
    label: 'agentmesh direct after DCUtR upgrade, TCP',
    group: 'agentmesh',
    driver: 'agentmesh',
    async start(ctx) {
      // DCUtR dials only public addresses: relay, agent and caller share a namespace whose loopback
      // has one (bench/lib/netns.ts); the caller announces it, the agent dials it back
      let netns: BenchNetns
      try {
        netns = createBenchNetns()
      } catch (err) {
        throw new Skip(`DCUtR needs a network namespace here: ${(err as Error).message}`)
      }
      const relay = await startParty('relay-upgraded', 'relay.ts', [ctx.authority.did], { verbose, netns: netns.name }).catch(
        (err: unknown) => {
          netns.remove()
          throw err
        }
      )
      const agent = await startAgent({
        authority: ctx.authority,
        relay,
        mode: 'tcp',
        name: 'acme/bench/upgraded',
        verbose,
        nodeFlags: flags('agent-upgraded'),
        netns: netns.name
      }).catch(async (err: unknown) => {
        await relay.stop()
        netns.remove()
        throw err
      })
      return {
        target: { ...agent.target, announce: `/ip6/${NETNS_PUBLIC_IP6}/tcp/${UPGRADED_CALLER_PORT}` },
        callerNetns: netns.name,
        async stop() {
          await stopParties(agent, relay)
          netns.remove()
        }
      }
    }
  },
  {
    id: 'libp2p-stream',
    label: 'raw libp2p, relayed TCP, stream per call',
    group: 'floor',
    driver: 'libp2p-stream',
    start: (ctx) => agentSystem(ctx, 'tcp', 'acme/bench/raw', 'raw')
  },
  {
    id: 'libp2p-reuse',
    label: 'raw libp2p, relayed TCP, reused streams',
    group: 'floor',
    driver: 'libp2p-reuse',
    start: (ctx) => agentSystem(ctx, 'tcp', 'acme/bench/raw-reuse', 'raw-reuse')
  },
  {
    id: 'tcp',
    label: 'raw TCP echo (Node net)',
    group: 'floor',
    driver: 'tcp',
    cold: true,
    async start() {
      const server = await startParty('tcp-echo', 'tcp-echo.ts', [], { verbose })
      return { target: server.info, stop: () => server.stop() }
    }
  },
  {
    id: 'nats',
    label: 'NATS request/reply (broker)',
    group: 'peer',
    driver: 'nats',
    packages: ['@nats-io/transport-node'],
    cold: true,
    async start(ctx) {
      const nats = await ctx.nats()
      if (nats === undefined) throw new Skip('nats-server is not available')
      const responder = await startParty('nats-responder', 'nats-responder.ts', [nats.url], { verbose })
      return { target: { url: nats.url }, stop: () => responder.stop() }
    }
  },
  {
    id: 'nats-tls',
    label: 'NATS request/reply (broker, TLS)',
    group: 'peer',
    driver: 'nats',
    packages: ['@nats-io/transport-node'],
    cold: true,
    async start(ctx) {
      const { url, caFile } = await ctx.natsTls()
      const responder = await startParty('nats-responder-tls', 'nats-responder.ts', [url, caFile], { verbose })
      return { target: { url, caFile }, stop: () => responder.stop() }
    }
  },
  {
    id: 'grpc',
    label: 'gRPC unary (@grpc/grpc-js, bytes)',
    group: 'peer',
    driver: 'grpc',
    packages: ['@grpc/grpc-js'],
    cold: true,
    async start() {
      const server = await startParty('grpc-server', 'grpc-server.ts', [], { verbose })
      return { target: server.info, stop: () => server.stop() }
    }
  },
  {
    id: 'a2a',
    label: 'A2A JSON-RPC SendMessage (@a2a-js/sdk)',
    group: 'peer',
    driver: 'a2a',
    packages: ['@a2a-js/sdk'],
    cold: true,
    async start() {
      const server = await startParty('a2a-server', 'a2a-server.ts', [], { verbose })
      return { target: server.info, stop: () => server.stop() }
    }
  }
]

class Skip extends Error {}

/** The port the upgraded system's caller listens on and announces (alone in its namespace). */
const UPGRADED_CALLER_PORT = 4001

function missingPackages(packages: string[] = []): string[] {
  return packages.filter((pkg) => {
    try {
      import.meta.resolve(pkg)
      return false
    } catch {
      return true
    }
  })
}

interface ThroughputRep {
  callsPerSec: number
  errors: number
  callerCpuPct: number
  firstError?: string
}

interface LargeRep {
  mbPerSec: number
  msPerCall: number
}

/** A started system: its parties, alive through every round, and its repetitions in round order. */
interface LiveSystem {
  spec: SystemSpec
  result: SystemResult
  caller: PartyHandle
  /** Stop the caller, then the server parties. */
  stop(): Promise<void>
  latency: LatencyRep[]
  /** The second c=1 pass, with idle polling on. */
  polledLatency: PolledLatencyRep[]
  /** By concurrency. */
  throughput: Map<number, ThroughputRep[]>
  /** By payload size. */
  large: Map<number, LargeRep[]>
  /** The first error of a large size: that size is not asked of this system again. */
  largeErrors: Map<number, string>
}

/** One step of a round: one repetition of one measurement, asked of each system in turn. */
interface Step {
  name: string
  run(system: LiveSystem): Promise<void>
  /** Runs the step's loop over the systems (to set the machine up for the step, and back). */
  around?: (measureAll: () => Promise<void>) => Promise<void>
}

async function stopParties(...parties: ({ stop(): Promise<void> } | undefined)[]): Promise<void> {
  for (const party of parties) await party?.stop().catch(() => {})
}

/** Mark the system failed; `where` (e.g. the step and round) prefixes the note. */
function markFailed(result: SystemResult, err: unknown, where = ''): void {
  result.status = 'failed'
  result.note = `${where}${firstLine(err)}`
  log(`${result.id} failed: ${where}${String((err as Error)?.stack ?? err)}`)
}

function addNote(result: SystemResult, note: string): void {
  result.note = result.note === undefined ? note : `${result.note}; ${note}`
}

function specResult(spec: SystemSpec): SystemResult {
  return { id: spec.id, label: spec.label, group: spec.group, status: 'ok' }
}

/**
 * Start the system's server parties and its caller, and connect. The parties stay up until
 * the end of the rounds; a system that cannot run comes back as its result alone.
 */
async function startSystem(spec: SystemSpec, ctx: Context): Promise<LiveSystem | SystemResult> {
  const result = specResult(spec)
  const missing = missingPackages(spec.packages)
  if (missing.length > 0) {
    return { ...result, status: 'skipped', note: `package not installed: ${missing.join(', ')}` }
  }
  let server: Awaited<ReturnType<SystemSpec['start']>> | undefined
  let caller: PartyHandle | undefined
  try {
    server = await spec.start(ctx)
    caller = await startParty(`caller-${spec.id}`, 'caller.ts', [spec.driver], {
      verbose,
      nodeFlags: spec.group === 'agentmesh' ? flags(`caller-${spec.id}`) : [],
      ...(server.callerNetns === undefined ? {} : { netns: server.callerNetns })
    })
    const connected = await caller.request<{ path: string }>('connect', { target: server.target }, 60_000)
    result.path = connected.path
    return {
      spec,
      result,
      caller,
      stop: () => stopParties(caller, server),
      latency: [],
      polledLatency: [],
      throughput: new Map(),
      large: new Map(),
      largeErrors: new Map()
    }
  } catch (err) {
    await stopParties(caller, server)
    if (err instanceof Skip) return { ...result, status: 'skipped', note: err.message }
    markFailed(result, err)
    return result
  }
}

function append<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  map.set(key, [...(map.get(key) ?? []), value])
}

/** The steps of every round: latency, then throughput at each concurrency, then each large size. */
function roundSteps(): Step[] {
  const latency: Step = {
    name: 'latency',
    async run(system) {
      const args = { n: config.latencyCalls, ms: config.latencyMaxMs }
      system.latency.push(await system.caller.request<LatencyRep>('latency', args))
    }
  }
  const polled: Step[] =
    haltPoll === undefined
      ? []
      : [
          {
            name: `latency, idle polling ${haltPoll.on} ns`,
            around: (measureAll) => haltPoll.during(measureAll),
            async run(system) {
              const args = { n: config.latencyCalls, ms: config.latencyMaxMs }
              const before = pollStateUs()
              const rep = await system.caller.request<LatencyRep>('latency', args)
              if (rep.n === 0) throw new Error('no call finished in the polled latency pass')
              system.polledLatency.push({ ...rep, pollUsPerCall: round((pollStateUs() - before) / rep.n, 1) })
            }
          }
        ]
  const throughput = config.concurrency.map(
    (c): Step => ({
      name: `throughput c=${c}`,
      async run(system) {
        const args = { concurrency: c, ms: config.throughputMs }
        append(system.throughput, c, await system.caller.request<ThroughputRep>('throughput', args))
      }
    })
  )
  const large = config.large.map((l): Step => ({ name: sizeLabel(l.size), run: (s) => largeRep(s, l) }))
  return [latency, ...polled, ...throughput, ...large]
}

/** One large-payload repetition; a failure marks the size for this system, not the whole system. */
async function largeRep(system: LiveSystem, l: (typeof config.large)[number]): Promise<void> {
  if (system.largeErrors.has(l.size)) return
  try {
    const args = { size: l.size, n: l.calls, ms: l.maxMs }
    append(system.large, l.size, await system.caller.request<LargeRep>('large', args, l.maxMs + 120_000))
  } catch (err) {
    system.largeErrors.set(l.size, firstLine(err))
  }
}

/** `items` starting at index `r` mod their count, wrapping around. */
function rotate<T>(items: T[], r: number): T[] {
  const start = items.length === 0 ? 0 : r % items.length
  return [...items.slice(start), ...items.slice(0, start)]
}

const running = (systems: LiveSystem[]): LiveSystem[] => systems.filter((s) => s.result.status === 'ok')

/**
 * The repetitions, as rounds: each step of a round measures every running system back to back, so
 * repetition i of any two systems is measured within one step, close in time on a machine whose
 * speed drifts over minutes. Round r starts at system r mod n, so that no system always goes first. The deadline
 * is checked between steps only: every system then has as many repetitions of each measurement as
 * the others, paired by round. A system that fails is stopped and left out of later steps.
 * Returns the rounds that ran to the end.
 */
async function runRounds(systems: LiveSystem[], deadline: number): Promise<number> {
  const steps = roundSteps()
  for (let r = 0; r < config.reps; r++) {
    const order = rotate(running(systems), r)
    if (order.length === 0) break
    log(`round ${r + 1}/${config.reps}: ${order.map((s) => s.spec.id).join(', ')}`)
    for (const step of steps) {
      if (Date.now() >= deadline) return r
      const measureAll = async (): Promise<void> => {
        for (const system of running(order)) {
          await step.run(system).catch(async (err: unknown) => {
            markFailed(system.result, err, `${step.name}, round ${r + 1}: `)
            await system.stop()
          })
        }
      }
      await (step.around === undefined ? measureAll() : step.around(measureAll))
    }
  }
  return config.reps
}

async function measureCold(system: LiveSystem): Promise<void> {
  const cold = await system.caller.request<{ samples: { totalMs: number; firstMs: number }[] }>(
    'cold',
    { reps: config.coldReps, warmup: config.coldWarmup, ms: quick ? 3_000 : 60_000 },
    120_000
  )
  if (cold.samples.length === 0) return
  const totals = cold.samples.map((s) => s.totalMs)
  system.result.cold = {
    p50: round(median(totals), 2),
    p90: round(quantile(totals, 0.9), 2),
    firstCallP50: round(median(cold.samples.map((s) => s.firstMs)), 2),
    reps: cold.samples.length
  }
}

/** The system's medians over its repetitions, into its result (which keeps every repetition). */
function summarize(system: LiveSystem): void {
  const { result, latency } = system
  if (latency.length > 0) {
    result.latency = {
      p50: round(median(latency.map((l) => l.p50)), 4),
      p99: round(median(latency.map((l) => l.p99)), 4),
      calls: latency.reduce((a, l) => a + l.n, 0),
      reps: latency
    }
  }
  const polled = system.polledLatency
  if (polled.length > 0) {
    result.polledLatency = {
      p50: round(median(polled.map((l) => l.p50)), 4),
      p99: round(median(polled.map((l) => l.p99)), 4),
      calls: polled.reduce((a, l) => a + l.n, 0),
      pollUsPerCall: round(median(polled.map((l) => l.pollUsPerCall)), 1),
      reps: polled
    }
  }
  result.throughput = {}
  for (const [c, reps] of system.throughput) {
    const errors = reps.reduce((a, t) => a + t.errors, 0)
    result.throughput[String(c)] = {
      callsPerSec: round(median(reps.map((t) => t.callsPerSec)), 1),
      errors,
      ...(errors > 0 ? { firstError: reps.find((t) => t.firstError)?.firstError } : {}),
      callerCpuPct: round(median(reps.map((t) => t.callerCpuPct)), 1),
      reps: reps.map((t) => t.callsPerSec)
    }
  }
  result.large = {}
  for (const [size, reps] of system.large) {
    result.large[sizeLabel(size)] = {
      mbPerSec: round(median(reps.map((x) => x.mbPerSec)), 1),
      msPerCall: round(median(reps.map((x) => x.msPerCall)), 2),
      reps: reps.map((x) => x.mbPerSec)
    }
  }
  for (const [size, error] of system.largeErrors) result.large[sizeLabel(size)] = { error }
}

/**
 * Every selected system: start them all, run the rounds, then the cold calls of each, then stop
 * every party (so that the scenarios after the table run alone). Results are in selection order.
 */
async function runSystems(selected: SystemSpec[], ctx: Context, deadline: number): Promise<SystemResult[]> {
  const results: SystemResult[] = []
  const systems: LiveSystem[] = []
  try {
    for (const spec of selected) {
      if (Date.now() >= deadline) {
        results.push({ ...specResult(spec), status: 'skipped', note: 'time budget reached' })
        continue
      }
      log(`${spec.id}: ${spec.label}: starting`)
      const started = await startSystem(spec, ctx)
      if ('caller' in started) systems.push(started)
      else log(`${spec.id}: ${started.status} (${started.note ?? ''})`)
      results.push('caller' in started ? started.result : started)
    }
    // warm up once every system is started: a system started first would otherwise be measured
    // while the last ones still start (about 2x its latency in round 1)
    for (const system of running(systems)) {
      await system.caller
        .request('warmup', { ms: config.warmupMs })
        .catch(async (err: unknown) => {
          markFailed(system.result, err, 'warm-up: ')
          await system.stop()
        })
    }
    const rounds = await runRounds(systems, deadline)
    // a path that changed during the rounds (a connection lost and dialled again, through the relay
    // or not) would leave the row's path wrong: say so
    for (const system of running(systems)) {
      const after = await system.caller.request<{ path: string }>('path').catch((err: unknown) => ({ path: firstLine(err) }))
      if (after.path !== system.result.path) addNote(system.result, `path after the rounds: ${after.path}`)
    }
    if (rounds < config.reps) {
      const note = `time budget reached: ${rounds} of ${config.reps} rounds complete`
      for (const s of running(systems)) addNote(s.result, note)
    }
    for (const system of running(systems).filter((s) => s.spec.cold === true)) {
      if (Date.now() >= deadline) addNote(system.result, 'time budget reached: no cold calls')
      else await measureCold(system).catch((err: unknown) => markFailed(system.result, err))
    }
  } finally {
    await Promise.allSettled(systems.map((s) => s.stop()))
  }
  for (const system of systems) {
    summarize(system)
    logResult(system.result)
  }
  return results
}

function logResult(r: SystemResult): void {
  log(
    `${r.id}: ${r.status}${r.note === undefined ? '' : ` (${r.note})`}` +
      (r.latency === undefined
        ? ''
        : ` p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, ` +
          Object.entries(r.throughput ?? {})
            .map(([c, t]) => `c${c} ${t.callsPerSec}/s`)
            .join(' '))
  )
}

function sizeLabel(size: number): string {
  return size >= 1 << 20 ? `${size / (1 << 20)} MiB` : `${size / 1024} KiB`
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err)
    .split('\n')
    .slice(0, 3)
    .join(' ')
    .slice(0, 300)
}

async function main(): Promise<void> {
  const started = Date.now()
  const deadline = started + config.budgetMs
  const watchdog = setTimeout(() => {
    console.error('[bench] hard time limit reached, stopping every party')
    killAll()
    process.exit(2)
  }, config.budgetMs + (quick ? 90_000 : 25 * 60_000))
  watchdog.unref()
  if (profile) mkdirSync(profileDir, { recursive: true })
  let relay: PartyHandle | undefined
  let nats: NatsServer | undefined
  let natsTried = false
  let natsBinary: { path?: string } | undefined
  const findNats = (): string | undefined => (natsBinary ??= { path: ensureNatsServer(log) }).path
  let natsTls: Promise<NatsServer & { caFile: string }> | undefined
  let cert: SelfSignedCert | undefined
  process.once('exit', () => cert?.remove())
  const authority = await createBenchAuthority()
  process.once('exit', () => authority.remove())
  const ctx: Context = {
    authority,
    async relay() {
      relay ??= await startParty('relay', 'relay.ts', [authority.did], { verbose, nodeFlags: flags('relay') })
      return relay
    },
    async nats() {
      if (!natsTried) {
        natsTried = true
        const binary = findNats()
        if (binary !== undefined) nats = await startNatsServer(binary)
      }
      return nats
    },
    natsTls() {
      natsTls ??= (async () => {
        const binary = findNats()
        if (binary === undefined) throw new Skip('nats-server is not available')
        cert = createSelfSignedCert()
        if (cert === undefined) throw new Skip('openssl is not available: it makes the certificate')
        return { ...(await startNatsServer(binary, cert)), caFile: cert.certFile }
      })()
      return natsTls
    }
  }
  const results: Results = {
    mode: quick ? 'quick' : 'full',
    startedAt: new Date(started).toISOString(),
    machine: machine(),
    config: {
      ...config,
      payload: 'small: {text: 90 x "x"} as DAG-CBOR (agentmesh, ~98 B) or its JSON (102 B) elsewhere'
    },
    systems: [],
    idlePolling: {
      policy: idlePolicy,
      ...(haltPoll === undefined
        ? {
            note: argv.includes('--no-idle-poll')
              ? 'run with --no-idle-poll'
              : idlePolicy.haltPollNs === undefined
                ? 'this machine has no cpuidle-haltpoll'
                : `idle polling is already at ${idlePolicy.haltPollNs} ns, or the bench may not change it (not root)`
          }
        : { polledNs: haltPoll.on })
    }
  }
  const selected = systems.filter((s) => only === undefined || only.includes(s.id))
  results.systems = await runSystems(selected, ctx, deadline)
  results.ratios = agentmeshRatios(results)
  const skipScenario = (id: string): boolean => only !== undefined && !only.includes(id)
  const env: ScenarioEnv = { authority, relay: () => ctx.relay(), verbose, log, deadline }
  const extend = (ms: number): number => Math.max(deadline, Date.now() + ms)
  if (!skipScenario('auth-cost')) {
    log('auth-cost: the same calls with no UCAN, a 1-link and a 3-link delegation chain')
    try {
      results.authCost = await runAuthCost({ ...env, deadline: extend(quick ? 15_000 : 5 * 60_000) }, config.authCost)
      log(
        `auth-cost: ${results.authCost.rows.map((r) => `${r.id} p50 ${r.p50} ms, ${r.callsPerSec}/s, agent ${r.agentCpuUsPerCall} µs/call`).join('; ')}`
      )
    } catch (err) {
      results.authCost = { concurrency: config.authCost.concurrency, rows: [], error: firstLine(err) }
      log(`auth-cost failed: ${String((err as Error)?.stack ?? err)}`)
    }
  }
  if (relay !== undefined) {
    results.relayAfter = await relay.request('stats').catch(() => undefined)
    await relay.stop()
  }
  await nats?.stop()
  await natsTls?.then((server) => server.stop()).catch(() => {})
  cert?.remove()
  if (!skipScenario('capacity')) {
    log(`capacity: idle agents on one relay, steps ${config.capacity.steps.join(', ')}`)
    // the capacity scenario may run past the table's budget by its own bound, not cut its last step
    results.capacity = await runCapacity(
      { ...env, deadline: extend(quick ? 40_000 : 15 * 60_000) },
      config.capacity
    )
  }
  results.durationS = round((Date.now() - started) / 1000, 1)
  results.machine.loadAvgAtEnd = round(os.loadavg()[0]!, 2)
  mkdirSync(resultsDir, { recursive: true })
  writeFileSync(`${resultsDir}latest.json`, `${JSON.stringify(results, null, 2)}\n`)
  writeFileSync(`${resultsDir}latest.md`, renderMarkdown(results))
  writeFileSync(`${resultsDir}latest.svg`, renderSvg(results))
  clearTimeout(watchdog)
  log(`done in ${results.durationS} s: bench/results/latest.{json,md,svg}`)
  const failed = results.systems.filter((s) => s.status === 'failed')
  process.exitCode = failed.length > 0 ? 1 : 0
}

// exiting on a signal runs the exit handlers: they put the machine's idle polling back
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killAll()
    process.exit(130)
  })
}

try {
  await main()
} catch (err) {
  console.error(err)
  killAll()
  process.exitCode = 1
}

// Where the time of one call goes at concurrency 1 (`node --conditions=agentmesh-source bench/hops.ts`,
// about a minute): every party's TCP socket writes and data events are timestamped
// (bench/lib/socket-trace.ts), and each call is followed across the processes: caller -> relay or
// broker -> agent or responder -> back. The hops (a write in one process to the data event in the
// next) and each process's own time are medians over the calls of interleaved rounds, for
// agentmesh relayed over TCP, the raw libp2p echo on the same relayed path, NATS request/reply (its
// broker is Go and not traced: caller to responder is hop, broker, hop), and raw TCP through a Node
// byte relay (the floor of four loopback hops between Node processes on this machine).
// Where the bench may set it, each round runs again with the guest's idle polling at the kernel
// default (bench/lib/idle-poll.ts), and the table has a row per system for each setting.
// Writes bench/results/hops.{json,md}.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startAgent } from './lib/agents.ts'
import { createBenchAuthority } from './lib/authority.ts'
import { haltPollSwitch, readIdlePolicy } from './lib/idle-poll.ts'
import { machine } from './lib/machine.ts'
import { ensureNatsServer, startNatsServer } from './lib/nats-server.ts'
import { killAll, type PartyHandle, startParty } from './lib/proc.ts'
import { median, round } from './lib/stats.ts'

const ROUNDS = 4
const CALLS = 2_000
/** A chain longer than this is a mismatch (a retransmit, a stray write), not a call. */
const MAX_CHAIN_US = 5_000

const traceDir = mkdtempSync(path.join(os.tmpdir(), 'agentmesh-hops-'))
process.env.AGENTMESH_SOCKET_TRACE = traceDir
const tracer = ['--import', fileURLToPath(new URL('./lib/socket-trace.ts', import.meta.url))]
const start = (label: string, file: string, args: string[] = []): Promise<PartyHandle> =>
  startParty(label, file, args, { nodeFlags: tracer })

interface TraceRecord {
  t: number
  write: boolean
  local: number
  remote: number
}

interface System {
  id: string
  label: string
  caller: PartyHandle
  /** The process between caller and server (relay or byte relay), traced; none for NATS. */
  middle?: PartyHandle
  server: PartyHandle
  /** The port the caller and the server connect to (relay, broker or byte relay). */
  hubPort: number
  /** The server's own listening port, when the middle dials it (the byte relay). */
  serverPort?: number
  /** Call p50s by idle-polling setting (ns), in round order. */
  p50: Map<number, number[]>
}

/** Stretches of time (absolute µs) in which every system ran its calls with one idle-polling setting. */
type Windows = Map<number, Array<[number, number]>>

const portOf = (addr: unknown): number => Number(String(addr).split('/')[4])

async function main(): Promise<void> {
  const authority = await createBenchAuthority()
  const systems: System[] = []
  const stops: Array<() => Promise<void>> = []
  try {
    const relay = await start('relay', 'relay.ts', [authority.did])
    stops.push(() => relay.stop())
    const agent = await startAgent({ authority, relay, mode: 'tcp', name: 'acme/bench/hops', nodeFlags: tracer })
    stops.push(() => agent.stop())
    for (const [id, label] of [
      ['agentmesh', 'agentmesh relayed, TCP'],
      ['libp2p-reuse', 'raw libp2p, relayed TCP, reused stream']
    ] as const) {
      const caller = await start(`caller-${id}`, 'caller.ts', [id])
      await caller.request('connect', { target: agent.target }, 60_000)
      systems.push({ id, label, caller, middle: relay, server: agent.party, hubPort: portOf(relay.info.tcp), p50: new Map() })
    }
    const binary = ensureNatsServer((line) => console.log(`[hops] ${line}`))
    if (binary !== undefined) {
      const nats = await startNatsServer(binary)
      stops.push(() => nats.stop())
      const responder = await start('nats-responder', 'nats-responder.ts', [nats.url])
      stops.push(() => responder.stop())
      const caller = await start('caller-nats', 'caller.ts', ['nats'])
      await caller.request('connect', { target: { url: nats.url } }, 60_000)
      systems.push({ id: 'nats', label: 'NATS request/reply (Go broker, not traced)', caller, server: responder, hubPort: Number(nats.url.split(':')[2]), p50: new Map() })
    }
    const echo = await start('tcp-echo', 'tcp-echo.ts')
    const splice = await start('tcp-splice', 'tcp-splice.ts', [String(echo.info.port)])
    const tcpCaller = await start('caller-tcp', 'caller.ts', ['tcp'])
    await tcpCaller.request('connect', { target: splice.info }, 60_000)
    systems.push({
      id: 'tcp-splice',
      label: 'raw TCP through a Node byte relay (no protocol)',
      caller: tcpCaller,
      middle: splice,
      server: echo,
      hubPort: Number(splice.info.port),
      serverPort: Number(echo.info.port),
      p50: new Map()
    })
    for (const s of systems) await s.caller.request('warmup', { ms: 2_000 })
    const poll = haltPollSwitch()
    const own = poll?.own ?? readIdlePolicy().haltPollNs ?? -1
    const settings: Array<{ ns: number; during: (fn: () => Promise<void>) => Promise<void> }> = [
      { ns: own, during: (fn) => fn() },
      ...(poll === undefined ? [] : [{ ns: poll.on, during: (fn: () => Promise<void>) => poll.during(fn) }])
    ]
    const windows: Windows = new Map()
    const now = (): number => (performance.timeOrigin + performance.now()) * 1000
    for (let r = 0; r < ROUNDS; r++) {
      for (const setting of settings) {
        await setting.during(async () => {
          const from = now()
          for (const s of systems) {
            const rep = await s.caller.request<{ p50: number }>('latency', { n: CALLS, ms: 60_000 }, 120_000)
            s.p50.set(setting.ns, [...(s.p50.get(setting.ns) ?? []), rep.p50 * 1000])
          }
          windows.set(setting.ns, [...(windows.get(setting.ns) ?? []), [from, now()]])
        })
        const polling = setting.ns < 0 ? '' : `, idle polling ${setting.ns} ns`
        console.log(`[hops] round ${r + 1}/${ROUNDS}${polling}: ${systems.map((s) => `${s.id} ${round(s.p50.get(setting.ns)!.at(-1)!, 1)} us`).join(', ')}`)
      }
    }
    for (const s of systems) await s.caller.stop()
    for (const stop of [...stops, () => splice.stop(), () => echo.stop()].reverse()) await stop().catch(() => {})
    report(systems, loadTraces(), windows)
  } finally {
    killAll()
    authority.remove()
    rmSync(traceDir, { recursive: true, force: true })
  }
}

/** The trace of each process, by pid (a party writes it when it exits). */
function loadTraces(): Map<number, TraceRecord[]> {
  const traces = new Map<number, TraceRecord[]>()
  for (const file of readdirSync(traceDir)) {
    const { records, dropped } = JSON.parse(readFileSync(path.join(traceDir, file), 'utf8')) as { records: number[]; dropped?: number }
    if (dropped !== undefined && dropped > 0) {
      console.warn(`[hops] process ${path.basename(file, '.json')} dropped its ${dropped} oldest trace records: the first calls are not analysed`)
    }
    const rows: TraceRecord[] = []
    for (let i = 0; i < records.length; i += 5) {
      rows.push({ t: records[i]!, write: records[i + 1] === 1, local: records[i + 2]!, remote: records[i + 3]! })
    }
    traces.set(Number(path.basename(file, '.json')), rows)
  }
  return traces
}

/** Writes and data events of one socket, each sorted by time, for a binary search. */
class SocketEvents {
  private readonly writes: number[]
  private readonly data: number[]
  constructor(rows: TraceRecord[]) {
    this.writes = rows.filter((r) => r.write).map((r) => r.t)
    this.data = rows.filter((r) => !r.write).map((r) => r.t)
  }
  /** The first write (or data event) at or after `t`. */
  next(write: boolean, t: number | undefined): number | undefined {
    if (t === undefined) return undefined
    const list = write ? this.writes : this.data
    let lo = 0
    let hi = list.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (list[mid]! < t) lo = mid + 1
      else hi = mid
    }
    return list[lo]
  }
  writesAfter(t: number): number[] {
    return this.writes.filter((w) => w >= t)
  }
}

const SEGMENTS = ['caller → hub', 'hub forwards', 'hub → server', 'server', 'server → hub', 'hub forwards back', 'hub → caller', 'caller'] as const

function report(systems: System[], traces: Map<number, TraceRecord[]>, windows: Windows): void {
  const rows = [...windows].flatMap(([ns, stretches]) => systems.map((s) => analyse(s, traces, ns, stretches)))
  const results = { startedAt: new Date().toISOString(), machine: machine(), rounds: ROUNDS, callsPerRound: CALLS, rows }
  const dir = fileURLToPath(new URL('./results/', import.meta.url))
  mkdirSync(dir, { recursive: true })
  writeFileSync(path.join(dir, 'hops.json'), `${JSON.stringify(results, null, 2)}\n`)
  writeFileSync(path.join(dir, 'hops.md'), renderHops(results))
  console.log(renderHops(results))
}

/** One system's calls made with one idle-polling setting, followed across its processes. */
function analyse(s: System, traces: Map<number, TraceRecord[]>, ns: number, stretches: Array<[number, number]>): HopsRow {
  const of = (party: PartyHandle | undefined): TraceRecord[] => (party === undefined ? [] : (traces.get(party.pid) ?? []))
  const callerRows = of(s.caller).filter((r) => r.remote === s.hubPort)
  const callerPort = callerRows.at(-1)?.local
  // the server's socket to the hub: it dials the relay or the broker; the byte relay dials it
  const serverRows = of(s.server).filter((r) => (s.serverPort === undefined ? r.remote === s.hubPort : r.local === s.serverPort))
  const serverSidePort = s.serverPort === undefined ? serverRows.at(-1)?.local : serverRows.at(-1)?.remote
  const caller = new SocketEvents(callerRows)
  const server = new SocketEvents(serverRows)
  const hubCaller = new SocketEvents(of(s.middle).filter((r) => r.remote === callerPort))
  const hubServer = new SocketEvents(
    of(s.middle).filter((r) => (s.serverPort === undefined ? r.remote === serverSidePort : r.remote === s.serverPort))
  )
  const spans: number[][] = SEGMENTS.map(() => [])
  const totals: number[] = []
  const inStretch = (t: number): boolean => stretches.some(([a, b]) => t >= a && t <= b)
  for (const w1 of caller.writesAfter(stretches[0]![0]).filter(inStretch)) {
    const d2 = s.middle === undefined ? w1 : hubCaller.next(false, w1)
    const w3 = s.middle === undefined ? w1 : hubServer.next(true, d2)
    const d4 = server.next(false, w3)
    const w5 = server.next(true, d4)
    const d6 = s.middle === undefined ? w5 : hubServer.next(false, w5)
    const w7 = s.middle === undefined ? w5 : hubCaller.next(true, d6)
    const d8 = caller.next(false, w7)
    // the caller's own time: from the answer to its next request (the next call of the loop)
    const next = caller.next(true, d8)
    const points = [w1, d2, w3, d4, w5, d6, w7, d8, next]
    if (points.some((p) => p === undefined) || next! - w1 > MAX_CHAIN_US) continue
    for (let i = 0; i < SEGMENTS.length; i++) spans[i]!.push(points[i + 1]! - points[i]!)
    totals.push(next! - w1)
  }
  const med = (list: number[]): number => round(median(list), 1)
  const segments = Object.fromEntries(
    SEGMENTS.map((name, i) => [name, s.middle === undefined && name.includes('hub') ? null : med(spans[i]!)])
  )
  if (s.middle === undefined) {
    segments['caller → hub'] = med(spans[0]!.map((_, i) => spans[0]![i]! + spans[1]![i]! + spans[2]![i]!))
    segments['server → hub'] = med(spans[4]!.map((_, i) => spans[4]![i]! + spans[5]![i]! + spans[6]![i]!))
  }
  const p50 = s.p50.get(ns) ?? []
  return { id: s.id, label: s.label, idlePollNs: ns < 0 ? null : ns, callP50Us: med(p50), cycleUs: med(totals), calls: totals.length, segments }
}

interface HopsRow {
  id: string
  label: string
  /** The guest's idle polling during these calls, in ns; null: no cpuidle-haltpoll. */
  idlePollNs: number | null
  callP50Us: number
  cycleUs: number
  calls: number
  segments: Record<string, number | null>
}

function renderHops(results: { machine: ReturnType<typeof machine>; rounds: number; callsPerRound: number; rows: HopsRow[] }): string {
  const m = results.machine as unknown as Record<string, unknown>
  const cell = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : String(v))
  const lines = [
    '# Where a call\'s time goes at concurrency 1 (`bench/hops.ts`)',
    '',
    `${String(m.cpuModel ?? '')}, ${String(m.cores ?? '')} cores, Node ${String(m.node ?? '')}, commit ${String(m.commit ?? '')}${m.dirty === true ? ' (dirty tree)' : ''}. ${results.rounds} interleaved rounds of ${results.callsPerRound} sequential calls per system and idle-polling setting (the guest's \`guest_halt_poll_ns\` during the calls: the machine's own, then the kernel's default where the bench may set it); every figure is a median in microseconds. A hop is the time from a socket write in one process to the data event in the next (the write system call, the loopback, the wake-up of the process that reads); a process's own time is from its data event to its next write (the caller's: from the answer to its next request, the loop included). Medians of the parts need not add up to the median of the whole. For NATS the broker is not traced: "caller → hub" is caller to responder (hop, broker, hop), "server → hub" responder to caller. Call p50: as the caller timed it; cycle: one request write to the next, traced.`,
    '',
    `| system | idle polling | call p50 | cycle | ${SEGMENTS.join(' | ')} | calls traced |`,
    `| --- | ---: | ---: | ---: | ${SEGMENTS.map(() => '---:').join(' | ')} | ---: |`,
    ...results.rows.map(
      (r) =>
        `| ${r.label} | ${r.idlePollNs === null ? '—' : `${r.idlePollNs / 1000} µs`} | ${r.callP50Us} | ${r.cycleUs} | ${SEGMENTS.map((s) => cell(r.segments[s])).join(' | ')} | ${r.calls} |`
    ),
    ''
  ]
  return `${lines.join('\n')}\n`
}

// exiting on a signal runs the exit handlers: they put the machine's idle polling back
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killAll()
    rmSync(traceDir, { recursive: true, force: true })
    process.exit(130)
  })
}

await main()
process.exit(0)

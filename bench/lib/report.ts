// Results as data, as a markdown table with ratios to every peer, and as a hand-written SVG chart.
import type { IdlePolicy } from './idle-poll.ts'
import { renderIdlePolling } from './idle-poll-report.ts'
import { median, round } from './stats.ts'

/** One latency repetition: `n` sequential calls. */
export interface LatencyRep {
  n: number
  p50: number
  p99: number
  mean?: number
}

export interface SystemResult {
  id: string
  label: string
  group: 'agentmesh' | 'floor' | 'peer'
  status: 'ok' | 'skipped' | 'failed'
  note?: string
  path?: string
  /** `reps` (here, of throughput and of large) are in round order: rep i of every system is round i. */
  latency?: { p50: number; p99: number; calls: number; reps: LatencyRep[] }
  throughput?: Record<
    string,
    { callsPerSec: number; errors: number; firstError?: string; callerCpuPct: number; reps: number[] }
  >
  large?: Record<string, { mbPerSec?: number; msPerCall?: number; reps?: number[]; error?: string }>
  cold?: { p50: number; p90: number; firstCallP50: number; reps: number }
  /** c=1 latency again with the guest's idle polling at the kernel default (bench/lib/idle-poll.ts). */
  polledLatency?: { p50: number; p99: number; calls: number; pollUsPerCall: number; reps: PolledLatencyRep[] }
}

/** A latency repetition with idle polling on, and the vCPU time spent polling per call meanwhile. */
export interface PolledLatencyRep extends LatencyRep {
  pollUsPerCall: number
}

export interface Results {
  mode: 'quick' | 'full'
  startedAt: string
  durationS?: number
  machine: Record<string, unknown>
  config: Record<string, unknown>
  systems: SystemResult[]
  ratios?: Ratio[]
  relayAfter?: unknown
  authCost?: AuthCost
  capacity?: Capacity
  /** The machine's idle policy, and the polling of the second c=1 latency pass (none: not run, and why). */
  idlePolling?: { policy: IdlePolicy; polledNs?: number; note?: string }
}

/** An agentmesh system against another system of the same run, round by round. */
export interface Ratio {
  /** System ids. */
  agentmesh: string
  peer: string
  /** The concurrency of the throughput ratio. */
  concurrency: number
  /** agentmesh p50 ÷ peer p50 (above 1 = agentmesh slower). */
  latency?: number
  /** agentmesh calls/s ÷ peer calls/s (below 1 = agentmesh slower). */
  throughput?: number
  /** Rounds paired for each ratio; 0 = the reps could not be paired: ratio of the medians. */
  rounds: { latency: number; throughput: number }
}

/** One way of presenting authority, in the authorization-cost scenario. */
export interface AuthCostRow {
  id: string
  label: string
  /** Delegation links in the caller's chain (0: none sent). */
  links: number
  /** A fully signed invocation on every call. */
  signed: boolean
  p50: number
  p99: number
  callsPerSec: number
  /** The agent's CPU time (user + system) per call during the throughput runs, in µs. */
  agentCpuUsPerCall: number
  errors: number
  reps: number
}

export interface AuthCost {
  concurrency: number
  rows: AuthCostRow[]
  error?: string
}

/** The relay with `idle` idle agents holding reservations, and calls through it meanwhile. */
export interface CapacityStep {
  idle: number
  /** The step timed out (the relay saturated): figures are as it stood then. */
  incomplete?: boolean
  reserved: number
  failed: number
  startError?: string
  relayReservations?: number
  relayNames?: number
  relayConnections?: number
  /** Time to add this step's agents, and the rate at which reservations were granted. */
  addSeconds?: number
  reservationsPerSec?: number
  /** Relay CPU spent per new reservation (dial, noise, admission, reservation, name registration). */
  relayCpuMsPerReservation?: number
  relayRssMiB: number
  relayHeapMiB: number
  relayRssPerAgentKiB?: number
  relayHeapPerAgentKiB?: number
  /** Relay CPU while the agents sit idle (keep-alive pings, renewals), % of one core. */
  relayIdleCpuPct: number
  workersRssMiB: number
  p50: number
  p99: number
  throughput: Record<string, number>
  errors: number
}

export interface Capacity {
  admission: string
  workers: number
  /** Idle CPU window and the wait before it, in ms (absent in results from before they were recorded). */
  idleCpuMs?: number
  idleSettleMs?: number
  relayEmptyRssMiB?: number
  steps: CapacityStep[]
  note?: string
  error?: string
}

export function fmt(value: number | undefined, digits = 2): string {
  if (value === undefined || !Number.isFinite(value)) return '—'
  if (value >= 1000) return Math.round(value).toLocaleString('en-US')
  if (value >= 100) return value.toFixed(0)
  if (value >= 10) return value.toFixed(1)
  return value.toFixed(digits)
}

export function fmtRatio(r: number | undefined): string {
  if (r === undefined) return '—'
  return `${r >= 10 ? r.toFixed(0) : r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)}×`
}

/**
 * a ÷ b, from repetitions paired by round: the median of a[i] ÷ b[i], each pair measured back to back,
 * so that the machine's drift between rounds cancels. When the reps cannot be paired (missing, or of
 * different counts after a cut-short run), the ratio of the medians, with 0 rounds.
 */
export function pairedRatio(
  a: { median?: number; reps?: number[] },
  b: { median?: number; reps?: number[] }
): { ratio?: number; rounds: number } {
  if (a.reps !== undefined && b.reps !== undefined && a.reps.length > 0 && a.reps.length === b.reps.length) {
    const perRound = a.reps.map((x, i) => x / b.reps![i]!).filter(Number.isFinite)
    return { ...(perRound.length > 0 ? { ratio: round(median(perRound), 4) } : {}), rounds: perRound.length }
  }
  const r = (a.median ?? Number.NaN) / (b.median ?? Number.NaN)
  return { ...(Number.isFinite(r) ? { ratio: round(r, 4) } : {}), rounds: 0 }
}

/** Every agentmesh system against every other system that ran, in latency and headline throughput. */
export function agentmeshRatios(results: Results): Ratio[] {
  const hc = headlineConcurrency(results)
  const ok = results.systems.filter((s) => s.status === 'ok')
  const latency = (s: SystemResult) => ({ median: s.latency?.p50, reps: s.latency?.reps.map((l) => l.p50) })
  const throughput = (s: SystemResult) => ({
    median: s.throughput?.[hc]?.callsPerSec,
    reps: s.throughput?.[hc]?.reps
  })
  return ok
    .filter((a) => a.group === 'agentmesh')
    .flatMap((a) =>
      ok
        .filter((p) => p.group !== 'agentmesh')
        .map((p): Ratio => {
          const l = pairedRatio(latency(a), latency(p))
          const t = pairedRatio(throughput(a), throughput(p))
          return {
            agentmesh: a.id,
            peer: p.id,
            concurrency: Number(hc),
            ...(l.ratio === undefined ? {} : { latency: l.ratio }),
            ...(t.ratio === undefined ? {} : { throughput: t.ratio }),
            rounds: { latency: l.rounds, throughput: t.rounds }
          }
        })
    )
}

function concurrencies(results: Results): string[] {
  const set = new Set<string>()
  for (const s of results.systems) for (const c of Object.keys(s.throughput ?? {})) set.add(c)
  return [...set].sort((a, b) => Number(a) - Number(b))
}

function largeSizes(results: Results): string[] {
  const set = new Set<string>()
  for (const s of results.systems) for (const k of Object.keys(s.large ?? {})) set.add(k)
  return [...set]
}

/** The headline concurrency of the throughput ratios and chart: 64, or the highest measured. */
function headlineConcurrency(results: Results): string {
  const cs = concurrencies(results)
  return cs.includes('64') ? '64' : (cs.at(-1) ?? '1')
}

export function renderMarkdown(results: Results): string {
  const m = results.machine
  const cs = concurrencies(results)
  const sizes = largeSizes(results)
  const lines: string[] = []
  lines.push(`# agentmesh benchmark (${results.mode})`)
  lines.push('')
  lines.push(
    `${results.startedAt}, ${results.durationS ?? '?'} s (\`npm run bench${results.mode === 'quick' ? ' -- --quick' : ''}\`). ` +
      `**Machine:** ${String(m.cpuModel)}, ${String(m.cores)} cores, ` +
      `${String(m.memoryGiB)} GiB, ${String(m.platform)}, Node ${String(m.node)}, libp2p ${String(m.libp2p)}, ` +
      `commit ${String(m.commit ?? 'unknown')}${m.dirty === true ? ' (dirty tree)' : ''}` +
      (m.loadAvgAtStart === undefined
        ? '.'
        : `; 1-min load average ${String(m.loadAvgAtStart)} at start, ${String(m.loadAvgAtEnd ?? '?')} at end` +
          (Math.max(Number(m.loadAvgAtStart), Number(m.loadAvgAtEnd ?? 0)) > Number(m.cores)
            ? ' (above the core count: other work shared the machine, so the figures are noisier)'
            : '') +
          '.')
  )
  lines.push('')
  lines.push(
    'Every party is its own OS process on 127.0.0.1 (caller, relay or broker, agent or server). ' +
      'Small calls carry ~100-byte args and result. Latency is sequential (concurrency 1); ' +
      'throughput is calls/s with N calls in flight. Repetitions are interleaved rounds: every ' +
      "system's parties stay up for the whole table, and each round measures every system back to " +
      'back (latency, then each concurrency, then each payload size), starting one system further ' +
      'each round. Each figure is the median over rounds ' +
      `(${String(results.config.reps)}); p99 is the median of the per-round p99s. ` +
      'Cold = new client from nothing (node start, resolve, dial, first result), after a few discarded cold calls that compile the code. ' +
      "agentmesh rows take the production path: deny by default, each call carries the caller's UCAN " +
      'chain and the agent validates it, except the "no UCAN" row (allowAuthenticatedPeers).'
  )
  lines.push('')
  const head = [
    'system',
    'p50 ms',
    'p99 ms',
    ...cs.map((c) => `c=${c} calls/s`),
    ...sizes.map((s) => `${s} MB/s`),
    'cold p50 ms'
  ]
  lines.push(`| ${head.join(' | ')} |`)
  lines.push(`|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`)
  for (const s of results.systems) {
    if (s.status !== 'ok') {
      lines.push(`| ${s.label} | ${s.status}: ${s.note ?? ''} |${' |'.repeat(head.length - 2)}`)
      continue
    }
    const row = [
      s.label,
      fmt(s.latency?.p50, 3),
      fmt(s.latency?.p99, 3),
      ...cs.map((c) => {
        const t = s.throughput?.[c]
        return t === undefined ? '—' : `${fmt(t.callsPerSec)}${t.errors > 0 ? ` (${t.errors} err)` : ''}`
      }),
      ...sizes.map((k) => {
        const l = s.large?.[k]
        return l?.error !== undefined ? 'error' : fmt(l?.mbPerSec, 1)
      }),
      s.cold === undefined ? '—' : fmt(s.cold.p50, 1)
    ]
    lines.push(`| ${row.join(' | ')} |`)
  }
  lines.push('')
  lines.push(
    `![Latency at c=1 and throughput at c=${headlineConcurrency(results)}, one bar per system (chart)](latest.svg)`
  )
  lines.push('')

  const ratios = results.ratios ?? []
  if (ratios.length > 0) lines.push(...renderRatios(results, ratios), '')

  const colds = results.systems.filter((s) => s.cold !== undefined)
  if (colds.length > 0) {
    lines.push('## Cold calls')
    lines.push('')
    lines.push(
      'Total: from creating the client to its first result. First call: from a started client. A started ' +
        'agentmesh node holds no connection, so its first call dials the relay, resolves the name, dials the ' +
        'circuit, runs the noise handshake and makes the call; a NATS client is already connected (over TLS: ' +
        'with its handshake made) when it has started.'
    )
    lines.push('')
    lines.push('| system | total p50 ms | total p90 ms | first call p50 ms (client already started) | reps |')
    lines.push('| --- | ---: | ---: | ---: | ---: |')
    for (const s of colds) {
      const c = s.cold!
      lines.push(
        `| ${s.label} | ${fmt(c.p50, 1)} | ${fmt(c.p90, 1)} | ${fmt(c.firstCallP50, 1)} | ${c.reps} |`
      )
    }
    lines.push('')
  }

  if (results.idlePolling !== undefined) lines.push(...renderIdlePolling(results), '')
  if (results.authCost !== undefined) lines.push(...renderAuthCost(results.authCost), '')
  if (results.capacity !== undefined) lines.push(...renderCapacity(results.capacity), '')

  lines.push('## Paths and notes')
  lines.push('')
  for (const s of results.systems) {
    const cpu = Object.entries(s.throughput ?? {})
      .map(([c, t]) => `c=${c} ${t.callerCpuPct}%`)
      .join(', ')
    const parts = [
      s.path === undefined ? undefined : `path: ${s.path}`,
      cpu === '' ? undefined : `caller CPU: ${cpu}`,
      s.note,
      ...Object.entries(s.large ?? {})
        .filter(([, l]) => l.error !== undefined)
        .map(([k, l]) => `${k}: ${l.error}`),
      ...Object.entries(s.throughput ?? {})
        .filter(([, t]) => t.firstError !== undefined)
        .map(([c, t]) => `c=${c} error: ${t.firstError}`)
    ].filter((p) => p !== undefined)
    lines.push(`- **${s.id}** (${s.status})${parts.length > 0 ? `: ${parts.join('; ')}` : ''}`)
  }
  lines.push('')
  return lines.join('\n')
}

function renderRatios(results: Results, ratios: Ratio[]): string[] {
  const label = (id: string): string => results.systems.find((s) => s.id === id)?.label ?? id
  const meshIds = [...new Set(ratios.map((r) => r.agentmesh))]
  const peerIds = [...new Set(ratios.map((r) => r.peer))]
  const unpaired = (r: Ratio | undefined, metric: 'latency' | 'throughput'): boolean =>
    r?.[metric] !== undefined && r.rounds[metric] === 0
  const cell = (r: Ratio | undefined, metric: 'latency' | 'throughput'): string =>
    `${fmtRatio(r?.[metric])}${unpaired(r, metric) ? '*' : ''}`
  const lines = ['## Ratios of agentmesh to each peer', '']
  lines.push(
    'Each ratio is the median over rounds of the ratio within a round: a round measures every ' +
      'system back to back, so both sides of a ratio come from the same stretch of time and the ' +
      "machine's drift from round to round does not enter it. " +
      `Latency: agentmesh p50 ÷ peer p50 (above 1× = agentmesh slower). ` +
      `Throughput: agentmesh calls/s ÷ peer calls/s at c=${ratios[0]!.concurrency} ` +
      '(below 1× = agentmesh slower).' +
      (ratios.some((r) => unpaired(r, 'latency') || unpaired(r, 'throughput'))
        ? ' *: ratio of the medians (the repetitions could not be paired by round).'
        : '')
  )
  lines.push('')
  const head = ['agentmesh', ...peerIds.map(label)]
  lines.push(`| ${head.join(' | ')} |`)
  lines.push(`|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`)
  for (const a of meshIds) {
    const row = peerIds.map((p) => ratios.find((r) => r.agentmesh === a && r.peer === p))
    for (const metric of ['latency', 'throughput'] as const) {
      lines.push(`| ${label(a)}, ${metric} | ${row.map((r) => cell(r, metric)).join(' | ')} |`)
    }
  }
  return lines
}

function renderAuthCost(a: AuthCost): string[] {
  const lines = ['## Authorization cost', '']
  lines.push(
    'The same small calls, relayed over TCP, by the authority the caller presents. The UCAN rows call ' +
      'one and the same agent (deny by default, trusting the bench authority); the first row calls an ' +
      'agent running allowAuthenticatedPeers, and its caller holds no delegation. Repetitions ' +
      'interleave the rows. Agent CPU is the agent process\'s user + system time per call during the ' +
      `c=${a.concurrency} runs: where the chain is validated. Δ is against the first row.`
  )
  lines.push('')
  if (a.error !== undefined) lines.push(`Failed: ${a.error}`, '')
  if (a.rows.length === 0) return lines
  lines.push(
    `| authority presented | p50 ms | p99 ms | c=${a.concurrency} calls/s | agent CPU µs/call | Δ p50 µs | Δ agent CPU µs/call | reps |`
  )
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  const none = a.rows[0]!
  for (const r of a.rows) {
    const dp = r === none ? '—' : fmt((r.p50 - none.p50) * 1000, 0)
    const dc = r === none ? '—' : fmt(r.agentCpuUsPerCall - none.agentCpuUsPerCall, 0)
    lines.push(
      `| ${r.label} | ${fmt(r.p50, 3)} | ${fmt(r.p99, 3)} | ${fmt(r.callsPerSec)}${r.errors > 0 ? ` (${r.errors} err)` : ''} | ` +
        `${fmt(r.agentCpuUsPerCall, 0)} | ${dp} | ${dc} | ${r.reps} |`
    )
  }
  return lines
}

function renderCapacity(c: Capacity): string[] {
  const lines = ['## Relay capacity', '']
  lines.push(
    `One relay process holds idle agents in steps; each idle agent is a full agentmesh agent (own ` +
      `libp2p node and key), many per worker process (${c.workers} workers). Admission: ${c.admission}. ` +
      'Reservations/s is the rate at which the step\'s agents were admitted, reserved and registered ' +
      '(all start concurrently; the 2-core machine runs the relay and the workers together, so this is ' +
      'a floor). Relay memory is measured after a full GC; per agent = (relay now − relay before any ' +
      'idle agent) ÷ idle agents. Idle CPU: relay CPU over a quiet window with the agents connected ' +
      '(keep-alive pings, record renewals), % of one core' +
      (c.idleCpuMs === undefined || c.idleSettleMs === undefined
        ? ''
        : ` (${c.idleCpuMs / 1000} s, from ${c.idleSettleMs / 1000} s after the step's last reservation)`) +
      '. Calls: a named agent and a caller on the ' +
      'same relay, relayed TCP with a 1-link UCAN, measured at each step.' +
      (c.relayEmptyRssMiB === undefined ? '' : ` Empty relay: ${fmt(c.relayEmptyRssMiB, 1)} MiB RSS.`)
  )
  lines.push('')
  if (c.error !== undefined) lines.push(`Failed: ${c.error}`, '')
  if (c.note !== undefined) lines.push(`Note: ${c.note}`, '')
  if (c.steps.length === 0) return lines
  const cs = [...new Set(c.steps.flatMap((s) => Object.keys(s.throughput)))].sort((a, b) => Number(a) - Number(b))
  const head = [
    'idle agents',
    'reserved',
    'reservations/s',
    'relay CPU ms/reservation',
    'relay RSS MiB',
    'relay RSS KiB/agent',
    'relay heap KiB/agent',
    'relay idle CPU %',
    'calls p50 ms',
    'calls p99 ms',
    ...cs.map((x) => `c=${x} calls/s`)
  ]
  lines.push(`| ${head.join(' | ')} |`)
  lines.push(`|${head.map((_, i) => (i === 0 ? ' ---: ' : ' ---: ')).join('|')}|`)
  for (const s of c.steps) {
    lines.push(
      `| ${[
        `${s.idle.toLocaleString('en-US')}${s.incomplete === true ? ' (not reached)' : ''}`,
        `${s.reserved.toLocaleString('en-US')}${s.failed > 0 ? ` (${s.failed} failed)` : ''}`,
        fmt(s.reservationsPerSec, 1),
        fmt(s.relayCpuMsPerReservation, 1),
        fmt(s.relayRssMiB, 1),
        fmt(s.relayRssPerAgentKiB, 1),
        fmt(s.relayHeapPerAgentKiB, 1),
        fmt(s.relayIdleCpuPct, 1),
        fmt(s.p50, 3),
        fmt(s.p99, 3),
        ...cs.map((x) => `${fmt(s.throughput[x])}${s.errors > 0 ? ` (${s.errors} err)` : ''}`)
      ].join(' | ')} |`
    )
  }
  const failed = c.steps.find((s) => s.startError !== undefined)
  if (failed !== undefined) lines.push('', `First agent start error: ${failed.startError}`)
  const last = c.steps.at(-1)!
  if (last.idle > 0) {
    lines.push(
      '',
      `At ${last.idle.toLocaleString('en-US')} idle agents the workers held ${fmt(last.workersRssMiB, 0)} MiB RSS in all ` +
        `(${fmt((last.workersRssMiB * 1024) / last.idle, 0)} KiB per agent, client side).`
    )
  }
  return lines
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

const COLORS: Record<SystemResult['group'], string> = {
  agentmesh: '#2563eb',
  floor: '#9ca3af',
  peer: '#f59e0b'
}

/** Two horizontal bar panels: p50 latency (with the p99 marked) and throughput, one bar a system. */
export function renderSvg(results: Results): string {
  const ok = results.systems.filter((s) => s.status === 'ok' && s.latency !== undefined)
  const hc = headlineConcurrency(results)
  const rowH = 26
  const labelW = 290
  const barW = 300
  const gap = 80
  const top = 70
  const width = labelW + barW * 2 + gap + 60
  const height = top + ok.length * rowH + 60
  const maxLat = Math.max(...ok.map((s) => s.latency!.p99), 0.001)
  const maxTput = Math.max(...ok.map((s) => s.throughput?.[hc]?.callsPerSec ?? 0), 1)
  const x2 = labelW + barW + gap
  const out: string[] = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`
  )
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`)
  out.push(
    `<text x="12" y="22" font-size="15" font-weight="bold">agentmesh benchmark (${results.mode}) — ${esc(String(results.machine.cpuModel))}, ${String(results.machine.cores)} cores, Node ${esc(String(results.machine.node))}</text>`
  )
  out.push(
    `<text x="${labelW}" y="${top - 14}" font-weight="bold">Latency at c=1, ms (bar p50, tick p99)</text>`
  )
  out.push(`<text x="${x2}" y="${top - 14}" font-weight="bold">Throughput at c=${hc}, calls/s</text>`)
  ok.forEach((s, i) => {
    const y = top + i * rowH
    const color = COLORS[s.group]
    out.push(`<text x="${labelW - 8}" y="${y + 16}" text-anchor="end">${esc(s.label)}</text>`)
    const p50 = s.latency!.p50
    const p99 = s.latency!.p99
    const w50 = Math.max(1, (p50 / maxLat) * barW)
    const w99 = (p99 / maxLat) * barW
    out.push(
      `<rect x="${labelW}" y="${y + 4}" width="${w50.toFixed(1)}" height="${rowH - 8}" fill="${color}"/>`
    )
    out.push(
      `<line x1="${(labelW + w99).toFixed(1)}" x2="${(labelW + w99).toFixed(1)}" y1="${y + 2}" y2="${y + rowH - 2}" stroke="#111827" stroke-width="2"/>`
    )
    out.push(
      `<text x="${(labelW + Math.max(w50, w99) + 6).toFixed(1)}" y="${y + 16}">${fmt(p50, 3)} / ${fmt(p99, 3)}</text>`
    )
    const t = s.throughput?.[hc]?.callsPerSec ?? 0
    const wt = Math.max(1, (t / maxTput) * barW)
    out.push(`<rect x="${x2}" y="${y + 4}" width="${wt.toFixed(1)}" height="${rowH - 8}" fill="${color}"/>`)
    out.push(`<text x="${(x2 + wt + 6).toFixed(1)}" y="${y + 16}">${fmt(t)}</text>`)
  })
  const ly = top + ok.length * rowH + 30
  const legend: [string, string][] = [
    ['agentmesh', COLORS.agentmesh],
    ['floor (same run)', COLORS.floor],
    ['peer system', COLORS.peer]
  ]
  legend.forEach(([name, color], i) => {
    const lx = labelW + i * 170
    out.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${color}"/>`)
    out.push(`<text x="${lx + 18}" y="${ly}">${esc(name)}</text>`)
  })
  out.push('</svg>')
  return `${out.join('\n')}\n`
}

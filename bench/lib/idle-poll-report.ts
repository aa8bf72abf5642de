// The markdown section of the second c=1 latency pass, with the guest's idle polling at the kernel
// default (bench/lib/idle-poll.ts), beside the table's own pass with the machine's setting.
import { fmt, fmtRatio, pairedRatio, type Results, type SystemResult } from './report.ts'

const us = (ns: number): string => `${Math.round(ns / 1000)} µs`

/** agentmesh p50 ÷ peer p50 with each setting, paired by round (`*`: ratio of the medians, not paired). */
function latencyRatios(a: SystemResult, p: SystemResult): { own: string; polled: string } {
  const own = pairedRatio(
    { median: a.latency?.p50, reps: a.latency?.reps.map((r) => r.p50) },
    { median: p.latency?.p50, reps: p.latency?.reps.map((r) => r.p50) }
  )
  const polled = pairedRatio(
    { median: a.polledLatency?.p50, reps: a.polledLatency?.reps.map((r) => r.p50) },
    { median: p.polledLatency?.p50, reps: p.polledLatency?.reps.map((r) => r.p50) }
  )
  const cell = (r: { ratio?: number; rounds: number }): string =>
    `${fmtRatio(r.ratio)}${r.ratio !== undefined && r.rounds === 0 ? '*' : ''}`
  return { own: cell(own), polled: cell(polled) }
}

export function renderIdlePolling(results: Results): string[] {
  const idle = results.idlePolling!
  const own = idle.policy.haltPollNs
  const lines = ['## Latency at c=1 and the guest\'s idle polling', '']
  lines.push(
    `cpuidle driver ${idle.policy.driver ?? 'none'}, governor ${idle.policy.governor ?? 'none'}, ` +
      `\`guest_halt_poll_ns\` ${own === undefined ? 'not present' : String(own)} on this machine. ` +
      'An idle vCPU of a KVM guest polls for work that long before it halts; waking a halted vCPU goes ' +
      'through the host and costs tens of microseconds, and a relayed or brokered call at c=1 wakes a ' +
      'sleeping process four times (caller, relay or broker, agent or server, and back), a direct call twice. ' +
      (idle.polledNs === undefined
        ? `No second pass: ${idle.note ?? 'the setting could not be changed'}.`
        : `Each round therefore also measured every system's c=1 latency with the polling at ` +
          `${us(idle.polledNs)} (Linux's default for cpuidle-haltpoll), back to back, then set it back to ` +
          `${own === undefined ? 'its value' : us(own)}. "vCPU µs polling" is the time all vCPUs spent ` +
          'polling during that pass, per call: CPU the guest burns instead of halting.')
  )
  lines.push('')
  const ok = results.systems.filter((s) => s.status === 'ok' && s.latency !== undefined)
  if (idle.polledNs === undefined || !ok.some((s) => s.polledLatency !== undefined)) return lines
  const own_ = own === undefined ? 'own' : us(own)
  const on = us(idle.polledNs)
  lines.push(`| system | p50 ms, ${own_} | p50 ms, ${on} | p99 ms, ${own_} | p99 ms, ${on} | vCPU µs polling per call |`)
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: |')
  for (const s of ok) {
    const p = s.polledLatency
    lines.push(
      `| ${s.label} | ${fmt(s.latency?.p50, 3)} | ${fmt(p?.p50, 3)} | ${fmt(s.latency?.p99, 3)} | ${fmt(p?.p99, 3)} | ${fmt(p?.pollUsPerCall, 1)} |`
    )
  }
  lines.push('')
  const meshes = ok.filter((s) => s.group === 'agentmesh')
  const peers = ok.filter((s) => s.group !== 'agentmesh' && s.polledLatency !== undefined)
  if (meshes.length === 0 || peers.length === 0) return lines
  lines.push(
    `Latency ratios, agentmesh p50 ÷ peer p50, paired by round: with ${own_} → with ${on} of polling ` +
      '(*: ratio of the medians, the repetitions could not be paired).'
  )
  lines.push('')
  lines.push(`| agentmesh | ${peers.map((p) => p.label).join(' | ')} |`)
  lines.push(`| --- |${peers.map(() => ' ---: ').join('|')}|`)
  for (const a of meshes) {
    const cells = peers.map((p) => {
      const r = latencyRatios(a, p)
      return `${r.own} → ${r.polled}`
    })
    lines.push(`| ${a.label} | ${cells.join(' | ')} |`)
  }
  return lines
}

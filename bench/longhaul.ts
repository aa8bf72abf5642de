// Long-haul check: an agent stays reachable through many reservation renewals.
//
//   node --conditions=agentmesh-source bench/longhaul.ts [--minutes 10] [--ttl-ms 30000] [--every-ms 2000] [--record-ttl-ms 60000]
//
// A relay (createRelay, trusting one authority) grants reservations of `--ttl-ms`
// (`limits.reservationTtlMs`; libp2p's default is 2 hours, so without a short TTL nothing would be
// renewed in 10 minutes). An edge agent with a naming right from that authority holds one through
// its built-in relay keeper (`agent.keeper`), and an orchestrator trusting the authority calls it
// by name every `--every-ms` for `--minutes`. Prints a JSON summary, then exits: non-zero when any
// call failed, a reservation lapsed or nothing was renewed. Not part of CI.
import { type Agent, allowAuthenticatedPeers, createAgent, createRelay, grantName } from '../src/index.ts'
import { generateSigner } from '../src/identity/index.ts'

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}
const minutes = arg('minutes', 10)
const ttl = arg('ttl-ms', 30_000)
const every = arg('every-ms', 2_000)
const recordTtl = arg('record-ttl-ms', 60_000)
const NAME = 'acme/bench/longhaul'
const nowSeconds = (): number => Math.floor(Date.now() / 1000)
const elapsed = (t: number): string => `${((Date.now() - t) / 1000).toFixed(1)} s`

const authority = generateSigner()
const trust = { acme: authority.did }
const agentKey = generateSigner()
const nameRight = await grantName({
  issuer: authority,
  audience: agentKey.did,
  name: NAME,
  expiration: nowSeconds() + minutes * 60 + 3_600
})

const relay = await createRelay({ listen: ['/ip4/127.0.0.1/tcp/0'], trust, limits: { reservationTtlMs: ttl } })
const relayAddr = relay.addrs[0]!

const agent: Agent = await createAgent({
  name: NAME,
  relays: [relayAddr],
  identity: agentKey,
  proofs: [nameRight],
  trust,
  recordTtl,
  // this run is about reachability over time; authorisation has its own tests
  authorizer: allowAuthenticatedPeers()
})
const keeper = agent.keeper
if (keeper === undefined) throw new Error('a named agent has no relay keeper')
// the first reservation is made while createAgent starts, before any listener could be added
const reservedAtStart = keeper.reserved.length
agent.handle('/echo', (x: unknown) => x)
const caller = await createAgent({ relays: [relayAddr], trust })

const t0 = Date.now()
const counts = { renewed: 0, connected: 0, disconnected: 0, calls: 0, ok: 0, failures: 0, relayReservationMissing: 0 }
const events: string[] = []
const failures: string[] = []
const latencies: number[] = []
const renewGaps: number[] = []
let lastRenewal = t0
keeper.addEventListener('reservation:renewed', (evt) => {
  counts.renewed++
  renewGaps.push(Date.now() - lastRenewal)
  lastRenewal = Date.now()
  if (counts.renewed <= 3) events.push(`${elapsed(t0)} renewed until +${(((evt.detail.expires ?? 0) - Date.now()) / 1000).toFixed(1)} s`)
})
keeper.addEventListener('relay:connected', () => {
  counts.connected++
  events.push(`${elapsed(t0)} relay:connected`)
})
keeper.addEventListener('relay:disconnected', () => {
  counts.disconnected++
  events.push(`${elapsed(t0)} relay:disconnected`)
})

const end = t0 + minutes * 60_000
let lastReport = t0
while (Date.now() < end) {
  const started = performance.now()
  try {
    await caller.call(NAME, '/echo', counts.calls, { timeout: 5_000 })
    latencies.push(performance.now() - started)
    counts.ok++
  } catch (err) {
    counts.failures++
    failures.push(`${elapsed(t0)} ${(err as Error & { code?: string }).code ?? ''} ${(err as Error).message}`)
  }
  counts.calls++
  if (relay.reservationCount() === 0) counts.relayReservationMissing++
  if (Date.now() - lastReport >= 60_000) {
    lastReport = Date.now()
    process.stderr.write(
      `${elapsed(t0)} calls ${counts.calls} ok ${counts.ok} failed ${counts.failures} renewals ${counts.renewed} disconnects ${counts.disconnected} relay reservations ${relay.reservationCount()}\n`
    )
  }
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(every, end - Date.now()))))
}
latencies.sort((a, b) => a - b)
const pick = (q: number): number =>
  Number((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN).toFixed(2))
const summary = {
  minutes,
  reservationTtlMs: ttl,
  recordTtlMs: recordTtl,
  everyMs: every,
  durationS: Number(((Date.now() - t0) / 1000).toFixed(1)),
  reservedAtStart,
  ...counts,
  expectedRenewalsAtLeast: Math.floor((minutes * 60_000) / ttl),
  renewGapMs: renewGaps.length === 0 ? null : { min: Math.min(...renewGaps), max: Math.max(...renewGaps) },
  reservationsHeldAtEnd: relay.reservationCount(),
  reservedAtEnd: keeper.reserved,
  medianMs: pick(0.5),
  p99Ms: pick(0.99),
  events: events.slice(0, 20),
  firstFailures: failures.slice(0, 20)
}
console.info(JSON.stringify(summary, null, 2))
await caller.stop()
await agent.stop()
await relay.stop()
process.exit(reservedAtStart === 1 && counts.failures === 0 && counts.disconnected === 0 && counts.renewed > 0 ? 0 : 1)

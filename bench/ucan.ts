/**
 * UCAN layer benchmark (not a test): cold validation of a 3-link chain, cached validation, a
 * derived-action check, and matchPolicy on a typical policy. Warm-up, then repetitions timed one
 * by one; prints a markdown table (median and p99, microseconds per op) and writes
 * bench/results/ucan.json.
 *
 *   node_modules/.bin/node bench/ucan.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { generateSigner } from '../src/identity/index.ts'
import { delegate, invoke, matchPolicy, UcanCache, validateSync } from '../src/ucan/index.ts'

const WARMUP = 2_000
const REPS = 20_000
const COLD_REPS = 3_000

function measure(name: string, reps: number, op: () => unknown) {
  for (let i = 0; i < Math.min(WARMUP, reps); i++) op()
  const samples = new Float64Array(reps)
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint()
    op()
    samples[i] = Number(process.hrtime.bigint() - t0) / 1000
  }
  samples.sort()
  const at = (q: number) => samples[Math.min(reps - 1, Math.floor(q * reps))]!
  return { name, reps, medianUs: round(at(0.5)), p99Us: round(at(0.99)), minUs: round(samples[0]!) }
}

function round(x: number): number {
  return Math.round(x * 100) / 100
}

const now = Math.floor(Date.now() / 1000)
const [root, a, b, invoker] = [generateSigner(), generateSigner(), generateSigner(), generateSigner()]
const d1 = await delegate({
  issuer: root,
  audience: a.did,
  subject: root.did,
  command: '/k8s',
  policy: [['==', '.namespace', 'prod']],
  expiration: now + 3600
})
const d2 = await delegate({
  issuer: a,
  audience: b.did,
  subject: root.did,
  command: '/k8s/apps',
  policy: [['<=', '.replicas', 10]],
  expiration: now + 3600
})
const d3 = await delegate({
  issuer: b,
  audience: invoker.did,
  subject: root.did,
  command: '/k8s/apps/scale',
  policy: [['like', '.deployment', 'web-*']],
  expiration: now + 3600
})
const args = { namespace: 'prod', replicas: 3, deployment: 'web-1', labels: ['a', 'b'] }
const inv = await invoke({
  issuer: invoker,
  subject: root.did,
  command: '/k8s/apps/scale',
  args,
  proofs: [d1, d2, d3],
  expiration: now + 600
})
const proofs = [d1.bytes, d2.bytes, d3.bytes]
const trusted = new Set([root.did])

const cache = new UcanCache()
const validated = validateSync(inv.bytes, { proofs, now, trusted, cache })

const typicalPolicy = [
  ['==', '.namespace', 'prod'],
  ['<=', '.replicas', 10],
  ['like', '.deployment', 'web-*'],
  [
    'all',
    '.labels',
    [
      'or',
      [
        ['==', '.', 'a'],
        ['==', '.', 'b']
      ]
    ]
  ]
]

const results = [
  measure('cold validate, 3-link chain (4 signatures, no cache)', COLD_REPS, () =>
    validateSync(inv.bytes, { proofs, now, trusted, cache: false })
  ),
  measure('cached validate, same invocation (hash + lookups + 3 policies)', REPS, () =>
    validateSync(inv.bytes, { proofs, now, trusted, cache })
  ),
  measure('derived action: validated.allows(cmd, args)', REPS, () =>
    validated.allows('/k8s/apps/scale', args, { now })
  ),
  measure('matchPolicy, typical 4-statement policy', REPS, () => matchPolicy(typicalPolicy, args))
]

const rows = results.map((r) => `| ${r.name} | ${r.medianUs} | ${r.p99Us} | ${r.reps} |`)
console.log('| operation | median µs | p99 µs | reps |')
console.log('| --- | ---: | ---: | ---: |')
for (const row of rows) console.log(row)

const out = {
  benchmark: 'ucan',
  date: new Date().toISOString(),
  node: process.version,
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  goals: { cachedUs: 10, cold3LinkUs: 1000 },
  results
}
mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
writeFileSync(new URL('./results/ucan.json', import.meta.url), JSON.stringify(out, null, 2) + '\n')

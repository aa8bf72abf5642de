// Issue an organisation's keys and tokens into a folder, list them, and prove they work.
//   node --conditions=agentmesh-source examples/authority/run.ts [out-dir]
// Without out-dir the files go to a temporary folder, removed at the end.
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { check } from './check.ts'
import { issue } from './issue.ts'

const WHAT: Record<string, string> = {
  'acme.key': 'organisation key (keep offline)',
  'prod-ops.key': 'sub-authority key for acme/prod/*',
  'prod-ops.ucan': 'acme -> prod-ops: names under acme/prod/*',
  'k8s-agent.key': "the agent's key",
  'k8s-agent.ucan': 'acme -> prod-ops -> agent: the name acme/prod/k8s',
  'orchestrator.key': "the orchestrator's key",
  'orchestrator.ucan': "acme -> orchestrator: /k8s/scale, replicas <= 10, namespace like 'web-*'",
  'trust.json': 'public: { acme: <did> } for relays and agents'
}

const given = process.argv[2]
const dir = given ?? (await mkdtemp(join(tmpdir(), 'agentmesh-authority-')))
await mkdir(dir, { recursive: true })
try {
  await issue(dir)
  console.log(`issued into ${dir}:`)
  for (const file of (await readdir(dir)).sort()) {
    const mode = ((await stat(join(dir, file))).mode & 0o777).toString(8).padStart(4, '0')
    console.log(`  ${mode}  ${file.padEnd(18)} ${WHAT[file] ?? ''}`)
  }
  console.log('checks, loading only those files:')
  const ok = await check(dir)
  console.log(ok ? 'all checks passed' : 'some checks failed')
  process.exitCode = ok ? 0 : 1
} finally {
  if (given === undefined) await rm(dir, { recursive: true, force: true })
}

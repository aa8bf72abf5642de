import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runExample } from '../fixtures/examples.ts'

describe('examples/authority: an organisation, a sub-authority, an agent and an orchestrator, as files', () => {
  let dir: string
  let output: string

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agentmesh-authority.spec-'))
    const out = join(dir, 'keys') // a folder that does not exist yet: the example creates it
    const run = await runExample('authority', [out])
    assert.equal(run.code, 0, run.output)
    output = run.output
  })

  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('writes the keys with mode 0600 and the tokens into the folder given on the command line', async () => {
    const out = join(dir, 'keys')
    const modes = Object.fromEntries(
      await Promise.all((await readdir(out)).map(async (f) => [f, (await stat(join(out, f))).mode & 0o777] as const))
    )
    for (const key of ['acme.key', 'prod-ops.key', 'k8s-agent.key', 'orchestrator.key']) {
      assert.equal(modes[key], 0o600, `${key} is readable by its owner only`)
    }
    for (const token of ['prod-ops.ucan', 'k8s-agent.ucan', 'orchestrator.ucan', 'trust.json']) {
      assert.ok(modes[token] !== undefined, `${token} was written`)
      assert.equal(modes[token]! & 0o022, 0, `${token} is writable by its owner only`)
    }
    assert.match(output, /0600 {2}acme\.key/)
  })

  it('proves the files work: the naming chain, and the policies on the orchestrator arguments', () => {
    assert.match(output, /ok {3}agent claims acme\/prod\/k8s +allowed/)
    assert.match(output, /ok {3}agent claims acme\/prod\/db +refused \(MatchError\)/)
    assert.match(output, /ok {3}prod-ops names an agent acme\/dev\/db +refused \(MatchError\)/)
    assert.match(output, /ok {3}scale web-api to 3 +allowed/)
    assert.match(output, /ok {3}scale to 50 +refused \(MatchError\)/)
    assert.match(output, /ok {3}scale kube-system to 3 +refused \(MatchError\)/)
    assert.match(output, /ok {3}delete a deployment +refused \(InvalidClaim\)/)
    assert.match(output, /ok {3}agent uses the orchestrator's token +refused \(InvalidAudience\)/)
    assert.doesNotMatch(output, /FAIL/)
    assert.match(output, /all checks passed/)
  })

  it('cleans up its temporary folder when given none, and exits 0', async () => {
    const before = new Set((await readdir(tmpdir())).filter((f) => f.startsWith('agentmesh-authority-')))
    const { code, output } = await runExample('authority')
    assert.equal(code, 0, output)
    assert.match(output, /all checks passed/)
    const left = (await readdir(tmpdir())).filter((f) => f.startsWith('agentmesh-authority-') && !before.has(f))
    assert.deepEqual(left, [])
  })
})

import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))

describe('examples/quickstart (the demo): three OS processes on loopback', () => {
  it('calls by name through the relay: one allowed, one streamed, two denied with reasons; exits 0 under 15 s, no process left', async () => {
    const started = Date.now()
    const child = spawn(process.execPath, ['--conditions=agentmesh-source', 'examples/quickstart/run.ts'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let output = ''
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString()
    })
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    assert.equal(code, 0, output)
    assert.ok(Date.now() - started < 15_000)
    assert.match(output, /"greeting":"hello world"/)
    assert.match(output, /progress \{"step":3\}[\s\S]*"counted":3/, 'the streamed call shows its progress, then its result')
    assert.match(output, /PERMISSION_DENIED: MatchError/, 'the policy cap is enforced by the agent')
    assert.match(output, /PERMISSION_DENIED: InvalidClaim/, 'an intent nobody delegated is refused')
    assert.match(output, /NOT_FOUND/)
    const left = execFileSync('ps', ['-eo', 'args']).toString().split('\n')
    assert.deepEqual(
      left.filter((line) => line.includes('examples/quickstart/')),
      [],
      'no relay, agent or orchestrator process is left behind'
    )
  })
})

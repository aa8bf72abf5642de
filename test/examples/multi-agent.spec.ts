import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))

describe('examples/multi-agent: a librarian calls compliance on the orchestrator behalf, within what it was handed', () => {
  let output = ''
  let code: number | null

  before(async () => {
    const child = spawn(process.execPath, ['--conditions=agentmesh-source', 'examples/multi-agent/run.ts'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString()
    })
    code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  })

  it('exits 0 by itself and leaves no process behind', () => {
    assert.equal(code, 0, output)
    const left = execFileSync('ps', ['-eo', 'args']).toString().split('\n')
    assert.deepEqual(
      left.filter((line) => line.includes('examples/multi-agent/')),
      []
    )
  })

  it("lets the librarian's onward call through, seen by compliance as acme -> orchestrator -> librarian", () => {
    const librarian = /librarian agent acme\/prod\/librarian is up \(did …(\w{6})\)/.exec(output)?.[1]
    assert.ok(librarian, output)
    assert.match(output, new RegExp(`\\[compliance\\] audit: allowed /compliance/check for …${librarian}, chain of 2 delegation`))
    assert.match(output, /metadata: \{[^\n]*"id":"q3-report"/)
    assert.match(output, new RegExp(`compliance: \\{[^\\n]*"compliant":true[^\\n]*"checkedFor":"did:key:\\w+${librarian}"`))
  })

  it('refuses the onward call that exceeds the hand-over (a secret document) with MatchError', () => {
    assert.match(output, /\[compliance\] audit: denied {2}\/compliance\/check for …\w{6}, chain of 2 delegation\(s\) \(MatchError/)
    assert.match(output, /compliance: \{"refused":"PERMISSION_DENIED: MatchError/)
  })

  it('still lets the orchestrator check the secret document itself, with its own chain of one', () => {
    assert.match(output, /\[compliance\] audit: allowed \/compliance\/check for …\w{6}, chain of 1 delegation/)
    assert.match(output, /checkedFor: "did:key:/)
  })
})

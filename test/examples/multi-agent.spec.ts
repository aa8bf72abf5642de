import assert from 'node:assert/strict'
import { runExample } from '../fixtures/examples.ts'

describe('examples/multi-agent: a librarian calls compliance on the orchestrator behalf, within what it was handed', () => {
  let output = ''
  let code: number | null

  before(async () => {
    ({ code, output } = await runExample('multi-agent')) // fails here if a process is left behind
  })

  it('exits 0 by itself and leaves no process behind', () => {
    assert.equal(code, 0, output)
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

import assert from 'node:assert/strict'
import { runExample } from '../fixtures/examples.ts'

describe('examples/quickstart (the demo): three OS processes on loopback', () => {
  it('calls by name through the relay: one allowed, one streamed, two denied with reasons; exits 0 under 15 s, no process left', async () => {
    const { code, output, ms } = await runExample('quickstart') // also checks that no process is left
    assert.equal(code, 0, output)
    assert.ok(ms < 15_000)
    assert.match(output, /"greeting":"hello world"/)
    assert.match(output, /progress \{"step":3\}[\s\S]*"counted":3/, 'the streamed call shows its progress, then its result')
    assert.match(output, /PERMISSION_DENIED: MatchError/, 'the policy cap is enforced by the agent')
    assert.match(output, /PERMISSION_DENIED: InvalidClaim/, 'an intent nobody delegated is refused')
    assert.match(output, /NOT_FOUND/)
  })
})

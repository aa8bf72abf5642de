import assert from 'node:assert/strict'
import { type Mesh, rejectsWithCode, startMesh } from '../fixtures/mesh.ts'

const SLOTS = 3

describe('an authorizer step that never answers does not hold call slots past the deadline', function () {
  this.timeout(30_000)
  let mesh: Mesh
  const pending: Array<() => void> = []

  before(async () => {
    mesh = await startMesh({
      name: 'acme/prod/target',
      agent: {
        limits: { maxCallsPerCaller: SLOTS },
        // a local policy that waits on something that never comes, for /stuck only
        localPolicy: ({ cmd }) => (cmd === '/stuck' ? new Promise<true>((resolve) => pending.push(() => resolve(true))) : true)
      }
    })
    mesh.agent.handle('/stuck', () => 'ran').handle('/echo', (args: unknown) => args)
  })

  after(async () => {
    for (const release of pending) release()
    await mesh.stop()
  })

  it('answers DEADLINE_EXCEEDED at the deadline and frees the slot (threat: a caller exhausting its own and the agent\'s slots)', async () => {
    // more calls than the caller has slots, one after the other: each must end at its own deadline
    for (let i = 0; i < SLOTS * 2; i++) {
      await rejectsWithCode(mesh.caller.call('acme/prod/target', '/stuck', {}, { timeout: 300 }), 'DEADLINE_EXCEEDED')
    }
    assert.ok(pending.length >= SLOTS * 2, `the policy was asked ${pending.length} times`)
    assert.equal(await mesh.caller.call('acme/prod/target', '/echo', 'still here'), 'still here')
  })
})

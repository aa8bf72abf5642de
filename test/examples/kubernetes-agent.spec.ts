import assert from 'node:assert/strict'
import { runExample } from '../fixtures/examples.ts'

describe('examples/kubernetes-agent: every API request checked before it is sent', () => {
  it('gets, scales to 3, refuses 50 and kube-system before the API server sees them, reads logs; exits 0, no process left', async function () {
    this.timeout(60_000) // the demo's own watchdog stops it after 20 s
    // also checks that no API server, relay, agent or orchestrator process is left behind
    const { code, output } = await runExample('kubernetes-agent')
    assert.equal(code, 0, output)
    assert.doesNotMatch(output, /!! expected/, output)
    // the orchestrator's own lines: the agent's and the API server's interleave with them
    const said = output
      .split('\n')
      .filter((line) => line.startsWith('[orchestrator] '))
      .join('\n')
    assert.match(output, /-> \{[^\n]*"replicas":2/, 'the deployment in web-api is read')
    assert.match(output, /"from":2/)
    assert.match(output, /"to":3/)
    assert.match(
      output,
      /\[apiserver\] deployment web-api\/api scaled from 2 to 3/,
      "the API server's state changed"
    )
    assert.match(said, /"replicas":50\}\n.*-> PERMISSION_DENIED: MatchError/)
    assert.match(said, /"kube-system".*\n.*-> PERMISSION_DENIED: MatchError/)
    assert.match(
      output,
      /"pod":"api-7d9f8-k2x4p","lines":\["api-7d9f8-k2x4p GET \/orders\/4/,
      'logs come back'
    )

    // what the API server itself recorded: one write, the scale to 3; nothing in kube-system
    const line = output.split('\n').find((l) => l.startsWith('{"requests":'))
    assert.ok(line, output)
    const { requests } = JSON.parse(line) as {
      requests: Array<{ method: string; path: string; body?: unknown }>
    }
    assert.deepEqual(
      requests.filter((r) => r.method !== 'GET'),
      [
        {
          method: 'PATCH',
          path: '/apis/apps/v1/namespaces/web-api/deployments/api/scale',
          body: { spec: { replicas: 3 } }
        }
      ]
    )
    assert.deepEqual(
      requests.filter((r) => r.path.includes('kube-system')),
      []
    )
    assert.equal(requests.filter((r) => r.path.endsWith('/log')).length, 2, 'one log request per pod')
  })
})

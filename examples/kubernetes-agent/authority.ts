// The operator's step, done once and offline: an organisation key, the agent's right to its name, and
// the orchestrator's delegation. The authority key never goes to any process below.
import { join } from 'node:path'
import { grantName, saveTokens } from 'agentmesh'
import { generateSigner, saveKey } from 'agentmesh/identity'
import { delegate } from 'agentmesh/ucan'
import { runIfMain } from '../shared/operator-step.ts'

// The policy is checked against each call (`/k8s/scale { namespace, name, replicas }`) and against
// each Kubernetes API request the agent derives from it (`/k8s/api/patch { resource, namespace, name,
// replicas }`): both carry `.namespace`; `.replicas` is null wherever nothing is scaled.
export const WEB_NAMESPACES_UP_TO_10 = [
  ['like', '.namespace', 'web-*'],
  [
    'or',
    [
      ['==', '.replicas', null],
      ['<=', '.replicas', 10]
    ]
  ]
]

/** Create the demo's keys and tokens in `dir`; returns the authority's did. */
export async function setUpAuthority(dir: string): Promise<{ authorityDid: string }> {
  const authority = generateSigner() // acme's organisation key
  const agent = generateSigner()
  const orchestrator = generateSigner()
  const inAnHour = Math.floor(Date.now() / 1000) + 3600
  const nameRight = await grantName({
    issuer: authority,
    audience: agent.did,
    name: 'acme/prod/k8s',
    expiration: inAnHour
  })
  // `/k8s` covers the intents /k8s/get, /k8s/scale, /k8s/logs and the derived /k8s/api/<verb>
  const grant = await delegate({
    issuer: authority,
    audience: orchestrator.did,
    subject: authority.did,
    command: '/k8s',
    policy: WEB_NAMESPACES_UP_TO_10,
    expiration: inAnHour
  })
  await saveKey(join(dir, 'agent.key'), agent)
  await saveTokens(join(dir, 'agent.ucan'), [nameRight])
  await saveKey(join(dir, 'orchestrator.key'), orchestrator)
  await saveTokens(join(dir, 'orchestrator.ucan'), [grant])
  return { authorityDid: authority.did }
}

// `node authority.ts <keys-dir>`: the step on its own, for the roles run by hand
await runIfMain(import.meta.url, setUpAuthority)

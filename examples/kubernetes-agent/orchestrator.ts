// An orchestrator: knows the agent's name, a relay and its own capability; never the cluster's
// address or credentials.
import { join } from 'node:path'
import { createAgent, type ErrorCode, loadTokens, MeshError } from 'agentmesh'
import { loadKey } from 'agentmesh/identity'

const [relayAddr, authorityDid, dir] = process.argv.slice(2)
if (relayAddr === undefined || authorityDid === undefined || dir === undefined) {
  throw new Error('usage: orchestrator.ts <relay> <authority-did> <keys-dir>')
}

const orchestrator = await createAgent({
  relays: [relayAddr],
  trust: { acme: authorityDid },
  identity: await loadKey(join(dir, 'orchestrator.key')),
  proofs: await loadTokens(join(dir, 'orchestrator.ucan'))
})

/** Make one call and print its outcome; an outcome other than `expected` makes the demo fail. */
async function show(
  title: string,
  expected: 'ok' | ErrorCode,
  intent: string,
  args: Record<string, unknown>
) {
  console.log(`${title}\n    ${intent} ${JSON.stringify(args)}`)
  let outcome = 'ok'
  try {
    console.log(`    -> ${JSON.stringify(await orchestrator.call('acme/prod/k8s', intent, args))}`)
  } catch (err) {
    if (!(err instanceof MeshError)) throw err
    outcome = err.code
    console.log(`    -> ${err.code}: ${err.message}`)
  }
  if (outcome !== expected) {
    console.log(`    !! expected ${expected}`)
    process.exitCode = 1
  }
}

const web = { namespace: 'web-api', name: 'api' }
await show('1. read a deployment in web-api: allowed', 'ok', '/k8s/get', web)
await show('2. scale it to 3: allowed (replicas <= 10)', 'ok', '/k8s/scale', { ...web, replicas: 3 })
await show('3. scale it to 50: refused, nothing reaches the API server', 'PERMISSION_DENIED', '/k8s/scale', {
  ...web,
  replicas: 50
})
await show('4. read a deployment in kube-system: refused (web-* only)', 'PERMISSION_DENIED', '/k8s/get', {
  namespace: 'kube-system',
  name: 'coredns'
})
await show('5. the last log lines of its pods: allowed', 'ok', '/k8s/logs', { ...web, tailLines: 2 })

await orchestrator.stop()

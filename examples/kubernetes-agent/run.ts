// The kubernetes-agent demo: starts a stand-in Kubernetes API server, a relay, the Kubernetes agent
// and an orchestrator as OS processes on loopback, shows what reached the API server, stops them all.
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runDemo } from '../shared/launcher.ts'
import { setUpAuthority } from './authority.ts'

await runDemo(
  {
    from: import.meta.url,
    tempPrefix: 'agentmesh-k8s-demo-',
    finished: 'demo finished: every API request checked before it was sent'
  },
  async (demo) => {
    demo.watchdog(20_000)
    const { authorityDid } = await setUpAuthority(demo.dir)
    console.log(
      '[operator] granted acme/prod/k8s; delegated /k8s to the orchestrator in web-* namespaces, replicas <= 10'
    )
    // the cluster: a stand-in API server over plain HTTP here (a real cluster's kubeconfig has its CA
    // instead of insecure-skip-tls-verify); the kubeconfig is the agent's alone (mode 0600)
    const token = randomBytes(16).toString('hex')
    const apiserver = String(
      (await demo.start('apiserver', './fake-apiserver.ts', [], { FAKE_API_TOKEN: token }).json).apiserver
    )
    const kubeconfig = `apiVersion: v1
kind: Config
clusters: [{ name: demo, cluster: { server: '${apiserver}', insecure-skip-tls-verify: true } }]
users: [{ name: mesh-agent, user: { token: '${token}' } }]
contexts: [{ name: demo, context: { cluster: demo, user: mesh-agent } }]
current-context: demo
`
    await writeFile(join(demo.dir, 'kubeconfig.yaml'), kubeconfig, { mode: 0o600 })
    console.log(
      `[operator] fake Kubernetes API server at ${apiserver}; kubeconfig written for the agent only`
    )
    const relayAddr = await demo.startRelay(authorityDid)
    const args = [relayAddr, authorityDid, demo.dir]
    await demo.start('agent', './agent.ts', args).json
    const code = await demo.start('orchestrator', './orchestrator.ts', args).exited
    // what reached the API server, as it recorded it
    const response = await fetch(`${apiserver}/_fake/requests`, {
      headers: { authorization: `Bearer ${token}` }
    })
    const requests = (await response.json()) as Array<{ method: string; path: string; body?: unknown }>
    const writes = requests.filter((r) => r.method !== 'GET')
    console.log(`[operator] the API server received ${requests.length} requests, ${writes.length} write(s):`)
    for (const w of writes) console.log(`[operator]     ${w.method} ${w.path} ${JSON.stringify(w.body)}`)
    console.log(JSON.stringify({ requests }))
    return code
  }
)

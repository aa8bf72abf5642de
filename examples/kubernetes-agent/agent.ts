// The Kubernetes agent: runs next to the cluster, keeps its kubeconfig to itself, and checks every API
// request it is about to send against the caller's chain before sending it.
import { join } from 'node:path'
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions
} from '@kubernetes/client-node'
import { type AgentCallContext, createAgent, defineIntent, loadTokens, MeshError } from 'agentmesh'
import { loadKey } from 'agentmesh/identity'
import { z } from 'zod'
import { stopOnSignal } from '../shared/stop-on-signal.ts'

const [relayAddr, authorityDid, dir] = process.argv.slice(2)
if (relayAddr === undefined || authorityDid === undefined || dir === undefined) {
  throw new Error('usage: agent.ts <relay> <authority-did> <keys-dir>')
}
// the cluster's address and credentials stay in this process: callers only know the name acme/prod/k8s
const kubeconfig = new KubeConfig()
kubeconfig.loadFromFile(join(dir, 'kubeconfig.yaml'))
const apps = kubeconfig.makeApiClient(AppsV1Api)
const core = kubeconfig.makeApiClient(CoreV1Api)

const target = { namespace: z.string().min(1), name: z.string().min(1) }
const get = defineIntent({ cmd: '/k8s/get', description: 'Read a deployment', args: z.object(target) })
const scale = defineIntent({
  cmd: '/k8s/scale',
  description: 'Set the replicas of a deployment',
  args: z.object({ ...target, replicas: z.number().int().min(0) })
})
const logs = defineIntent({
  cmd: '/k8s/logs',
  description: 'The last lines of each pod of a deployment',
  args: z.object({ ...target, tailLines: z.number().int().min(1).max(100).default(3) })
})

/** Check one Kubernetes API request against the caller's authority, then send it. */
async function kube<T>(
  ctx: AgentCallContext,
  verb: string,
  request: Record<string, unknown>,
  send: () => Promise<T>
) {
  await ctx.authorize(`/k8s/api/${verb}`, request) // throws PERMISSION_DENIED: then nothing is sent
  try {
    return await send()
  } catch (err) {
    if (err instanceof ApiException && err.code === 404)
      throw new MeshError('NOT_FOUND', `${request.resource} not found`)
    throw new MeshError('UNAVAILABLE', `the Kubernetes API failed: ${(err as Error).message.split('\n')[0]}`)
  }
}

const agent = await createAgent({
  name: 'acme/prod/k8s',
  relays: [relayAddr],
  identity: await loadKey(join(dir, 'agent.key')),
  proofs: await loadTokens(join(dir, 'agent.ucan')),
  trust: { acme: authorityDid },
  audit: (event) =>
    console.log(
      `audit: ${event.allowed ? 'allowed' : 'denied '} ${event.cmd}${event.reason ? ` (${event.reason})` : ''}`
    )
})

agent
  .handle(get, async ({ namespace, name }, ctx) => {
    const d = await kube(ctx, 'get', { resource: 'deployments', namespace, name }, () =>
      apps.readNamespacedDeployment({ namespace, name })
    )
    const image = d.spec?.template.spec?.containers[0]?.image ?? null
    return { namespace, name, replicas: d.spec?.replicas ?? 0, ready: d.status?.readyReplicas ?? 0, image }
  })
  .handle(scale, async ({ namespace, name, replicas }, ctx) => {
    const before = await kube(ctx, 'get', { resource: 'deployments/scale', namespace, name }, () =>
      apps.readNamespacedDeploymentScale({ namespace, name })
    )
    const after = await kube(ctx, 'patch', { resource: 'deployments/scale', namespace, name, replicas }, () =>
      apps.patchNamespacedDeploymentScale(
        { namespace, name, body: { spec: { replicas } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch)
      )
    )
    return { namespace, name, from: before.spec?.replicas ?? 0, to: after.spec?.replicas ?? 0 }
  })
  .handle(logs, async ({ namespace, name, tailLines }, ctx) => {
    const d = await kube(ctx, 'get', { resource: 'deployments', namespace, name }, () =>
      apps.readNamespacedDeployment({ namespace, name })
    )
    const labelSelector = Object.entries(d.spec?.selector.matchLabels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(',')
    const list = await kube(ctx, 'list', { resource: 'pods', namespace, labelSelector }, () =>
      core.listNamespacedPod({ namespace, labelSelector })
    )
    const result = []
    for (const pod of list.items) {
      const podName = pod.metadata?.name ?? ''
      const log = await kube(ctx, 'get', { resource: 'pods/log', namespace, name: podName }, () =>
        core.readNamespacedPodLog({ namespace, name: podName, tailLines })
      )
      result.push({ pod: podName, lines: log.trimEnd().split('\n') })
    }
    return result
  })

console.log(`agent acme/prod/k8s is up (peer …${agent.peerId.slice(-8)}), its kubeconfig stays here`)
console.log(JSON.stringify({ ready: true }))

stopOnSignal(() => agent.stop())

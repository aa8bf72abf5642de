// A stand-in for a Kubernetes API server, for the demo only: a few routes of the real API (deployment
// get, scale get/patch/put, pod list, pod log) over plain HTTP on 127.0.0.1, state in memory. It
// records every request so that the demo can show what reached it. Point the agent's kubeconfig at a
// real cluster instead and nothing else changes.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { stopOnSignal } from '../shared/stop-on-signal.ts'

const token = process.env.FAKE_API_TOKEN
if (token === undefined) throw new Error('usage: FAKE_API_TOKEN=… fake-apiserver.ts')

interface Deployment {
  replicas: number
  app: string
}
const deployments = new Map<string, Deployment>([
  ['web-api/api', { replicas: 2, app: 'api' }],
  ['kube-system/coredns', { replicas: 2, app: 'kube-dns' }]
])
const pods = [
  { namespace: 'web-api', name: 'api-7d9f8-k2x4p', app: 'api' },
  { namespace: 'web-api', name: 'api-7d9f8-q9w1z', app: 'api' },
  { namespace: 'kube-system', name: 'coredns-5d78c-8hx2l', app: 'kube-dns' }
]
const requests: Array<{ method: string; path: string; body?: unknown }> = []

const deployment = (ns: string, name: string, d: Deployment) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: ns },
  spec: {
    replicas: d.replicas,
    selector: { matchLabels: { app: d.app } },
    template: {
      metadata: { labels: { app: d.app } },
      spec: { containers: [{ name: d.app, image: `acme/${d.app}:1.4.2` }] }
    }
  },
  status: { replicas: d.replicas, readyReplicas: d.replicas }
})
const scale = (ns: string, name: string, d: Deployment) => ({
  apiVersion: 'autoscaling/v1',
  kind: 'Scale',
  metadata: { name, namespace: ns },
  spec: { replicas: d.replicas },
  status: { replicas: d.replicas }
})

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  res
    .writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' })
    .end(text)
}
const notFound = (what: string) => ({
  apiVersion: 'v1',
  kind: 'Status',
  status: 'Failure',
  message: `${what} not found`,
  reason: 'NotFound',
  code: 404
})

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost')
  let text = ''
  for await (const chunk of req) text += chunk
  const body = text === '' ? undefined : (JSON.parse(text) as { spec?: { replicas?: number } })
  if (req.headers.authorization !== `Bearer ${token}`)
    return send(res, 401, { kind: 'Status', code: 401, message: 'Unauthorized' })
  if (url.pathname === '/_fake/requests') return send(res, 200, requests) // the demo's window into the server
  requests.push({ method: req.method ?? 'GET', path: url.pathname, ...(body === undefined ? {} : { body }) })
  console.log(`${req.method} ${url.pathname}${url.search}${text ? ` ${text}` : ''}`)

  let m = url.pathname.match(/^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)(\/scale)?$/)
  if (m !== null) {
    const [, ns, name, isScale] = m as unknown as [string, string, string, string | undefined]
    const d = deployments.get(`${ns}/${name}`)
    if (d === undefined) return send(res, 404, notFound(`deployments.apps "${name}"`))
    if (isScale === undefined)
      return req.method === 'GET'
        ? send(res, 200, deployment(ns, name, d))
        : send(res, 405, 'method not allowed')
    if (req.method === 'PATCH' || req.method === 'PUT') {
      const replicas = body?.spec?.replicas
      if (typeof replicas !== 'number')
        return send(res, 422, { kind: 'Status', code: 422, message: 'spec.replicas is required' })
      console.log(`deployment ${ns}/${name} scaled from ${d.replicas} to ${replicas}`)
      d.replicas = replicas
    }
    return send(res, 200, scale(ns, name, d))
  }
  m = url.pathname.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods(?:\/([^/]+)\/log)?$/)
  if (m !== null && req.method === 'GET') {
    const [, ns, podName] = m as unknown as [string, string, string | undefined]
    if (podName === undefined) {
      const app = url.searchParams.get('labelSelector')?.replace(/^app=/, '')
      const items = pods
        .filter((p) => p.namespace === ns && (app === undefined || p.app === app))
        .map((p) => ({
          metadata: { name: p.name, namespace: ns, labels: { app: p.app } },
          status: { phase: 'Running' }
        }))
      return send(res, 200, { apiVersion: 'v1', kind: 'PodList', metadata: {}, items })
    }
    if (!pods.some((p) => p.namespace === ns && p.name === podName))
      return send(res, 404, notFound(`pods "${podName}"`))
    const lines = [1, 2, 3, 4, 5].map((i) => `${podName} GET /orders/${i} 200 ${3 + i}ms`)
    return send(res, 200, `${lines.slice(-Number(url.searchParams.get('tailLines') ?? 5)).join('\n')}\n`)
  }
  return send(res, 404, notFound(url.pathname))
}

const server = createServer((req, res) => {
  handle(req, res).catch((err: unknown) => send(res, 500, String(err)))
})
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number }
  console.log(JSON.stringify({ apiserver: `http://127.0.0.1:${port}` }))
})
stopOnSignal(() => new Promise((resolve) => server.close(resolve)))

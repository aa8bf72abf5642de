// The A2A server party: @a2a-js/sdk's DefaultRequestHandler behind its JsonRpcTransportHandler,
// mounted on node:http (no express) on 127.0.0.1. The executor answers every message with a
// message carrying the same parts (an echo), or, for a text `blob:N`, a text part of N characters;
// no task is stored.
import { randomUUID } from 'node:crypto'
import http from 'node:http'
import { type AgentCard, Role } from '@a2a-js/sdk'
import {
  AgentEvent,
  type AgentExecutor,
  DefaultRequestHandler,
  defaultServerCallContextBuilder,
  InMemoryTaskStore,
  JsonRpcTransportHandler,
  UnauthenticatedUser
} from '@a2a-js/sdk/server'
import { serveParty } from '../lib/party.ts'

const texts = new Map<number, string>()
function blobText(size: number): string {
  let t = texts.get(size)
  if (t === undefined) {
    t = 'a'.repeat(size)
    texts.set(size, t)
  }
  return t
}

const executor: AgentExecutor = {
  async execute(ctx, bus) {
    const first = ctx.userMessage.parts[0]?.content
    const asked =
      first?.$case === 'text' && first.value.startsWith('blob:') ? Number(first.value.slice(5)) : -1
    const parts =
      asked >= 0
        ? [
            {
              content: { $case: 'text' as const, value: blobText(asked) },
              metadata: undefined,
              filename: '',
              mediaType: ''
            }
          ]
        : ctx.userMessage.parts
    bus.publish(
      AgentEvent.message({
        messageId: randomUUID(),
        contextId: ctx.contextId,
        taskId: '',
        role: Role.ROLE_AGENT,
        parts,
        metadata: undefined,
        extensions: [],
        referenceTaskIds: []
      })
    )
    bus.finished()
  },
  async cancelTask() {}
}

await serveParty(async () => {
  const card: AgentCard = {
    name: 'bench echo',
    description: 'echoes the parts of each message',
    supportedInterfaces: [
      // the port is filled in once the server listens
      { url: 'http://127.0.0.1:0', protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' }
    ],
    provider: undefined,
    version: '1.0.0',
    capabilities: undefined,
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [],
    signatures: []
  }
  const handler = new JsonRpcTransportHandler(
    new DefaultRequestHandler(card, new InMemoryTaskStore(), executor)
  )
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/.well-known/agent-card.json') {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify(card))
      return
    }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const run = async (): Promise<unknown> => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>
        const version = req.headers['a2a-version']
        const context = defaultServerCallContextBuilder({
          extensions: undefined,
          user: new UnauthenticatedUser(),
          headers: req.headers,
          ...(typeof version === 'string' ? { requestedVersion: version } : {})
        })
        return await handler.handle(body, context)
      }
      run().then(
        (answer) => {
          res.setHeader('content-type', 'application/json')
          res.end(JSON.stringify(answer))
        },
        (err: unknown) => {
          res.statusCode = 500
          res.end(JSON.stringify({ error: String(err) }))
        }
      )
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const port = (server.address() as { port: number }).port
  card.supportedInterfaces[0]!.url = `http://127.0.0.1:${port}`
  return {
    info: { url: `http://127.0.0.1:${port}` },
    party: {
      ops: {},
      async stop() {
        server.closeAllConnections()
        await new Promise<void>((resolve) => server.close(() => resolve()))
      }
    }
  }
})

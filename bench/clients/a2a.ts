// A2A SendMessage over JSON-RPC/HTTP with @a2a-js/sdk's client (agent card fetched first).
import { randomUUID } from 'node:crypto'
import { Role } from '@a2a-js/sdk'
import { ClientFactory } from '@a2a-js/sdk/client'
import { SMALL_OBJECT } from '../lib/wire.ts'
import { type BenchClient, field, simpleDriver, type SystemDriver } from './types.ts'

async function open(target: Record<string, unknown>): Promise<BenchClient> {
  const url = field(target, 'url')
  if (!url.startsWith('http://127.0.0.1:')) throw new Error('the bench only talks to 127.0.0.1')
  const client = await new ClientFactory().createFromUrl(url)
  const send = async (text: string): Promise<string> => {
    const result = await client.sendMessage({
      tenant: '',
      message: {
        messageId: randomUUID(),
        contextId: '',
        taskId: '',
        role: Role.ROLE_USER,
        parts: [
          { content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: '' }
        ],
        metadata: undefined,
        extensions: [],
        referenceTaskIds: []
      },
      configuration: undefined,
      metadata: undefined
    })
    const message = result as { parts?: { content?: { $case: string; value: unknown } }[] }
    const part = message.parts?.[0]?.content
    if (part?.$case !== 'text') throw new Error(`unexpected answer ${JSON.stringify(result).slice(0, 200)}`)
    return part.value as string
  }
  return {
    async echo() {
      if ((await send(SMALL_OBJECT.text)).length !== SMALL_OBJECT.text.length) {
        throw new Error('echo returned something else')
      }
    },
    // A2A carries text: the large result is a text part of `size` characters.
    async blob(size) {
      return (await send(`blob:${size}`)).length
    },
    path: () => `HTTP/1.1 JSON-RPC to ${url}`,
    async close() {}
  }
}

export const driver: SystemDriver = simpleDriver(open)

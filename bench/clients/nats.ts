// NATS request/reply through the broker: the peer closest to agentmesh's shape (caller, broker,
// responder, three processes), without end-to-end encryption.
import { connect } from '@nats-io/transport-node'
import { SMALL_BYTES } from '../lib/wire.ts'
import { type BenchClient, field, simpleDriver, type SystemDriver } from './types.ts'

async function open(target: Record<string, unknown>): Promise<BenchClient> {
  const url = field(target, 'url')
  if (!url.startsWith('nats://127.0.0.1:')) throw new Error('the bench only talks to 127.0.0.1')
  const nc = await connect({ servers: url })
  return {
    async echo() {
      const msg = await nc.request('bench.echo', SMALL_BYTES, { timeout: 60_000 })
      if (msg.data.byteLength !== SMALL_BYTES.byteLength) throw new Error('echo returned something else')
    },
    async blob(size) {
      const req = new Uint8Array(4)
      new DataView(req.buffer).setUint32(0, size)
      return (await nc.request('bench.blob', req, { timeout: 60_000 })).data.byteLength
    },
    path: () => `through nats-server at ${url}`,
    close: () => nc.close()
  }
}

export const driver: SystemDriver = simpleDriver(open)

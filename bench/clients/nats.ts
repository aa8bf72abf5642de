// NATS request/reply through the broker: the peer closest to agentmesh's shape (caller, broker,
// responder, three processes), without end-to-end encryption. With `caFile` in the target, the
// broker requires TLS: each client connection (caller and responder, each to the broker) is TLS,
// verified against that certificate; the broker still sees every message in the clear.
import { connect, type TlsOptions } from '@nats-io/transport-node'
import { SMALL_BYTES } from '../lib/wire.ts'
import { type BenchClient, field, simpleDriver, type SystemDriver } from './types.ts'

/**
 * TLS to the bench broker: trust only the bench certificate, and check that it names 127.0.0.1.
 * nats.js gives Node no server name for an IP address, so Node would check the name `localhost`
 * instead (nats-io/nats.js#303); `host`, which nats.js passes through to tls.connect, makes it check
 * the address dialled.
 */
export function benchTls(caFile: string): TlsOptions {
  const options = { caFile, host: '127.0.0.1' }
  return options
}

async function open(target: Record<string, unknown>): Promise<BenchClient> {
  const url = field(target, 'url')
  if (!url.startsWith('nats://127.0.0.1:')) throw new Error('the bench only talks to 127.0.0.1')
  const caFile = target.caFile === undefined ? undefined : field(target, 'caFile')
  const nc = await connect({ servers: url, ...(caFile === undefined ? {} : { tls: benchTls(caFile) }) })
  if (caFile !== undefined && nc.info?.tls_required !== true) {
    await nc.close()
    throw new Error('the broker does not require TLS')
  }
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
    path: () => `through nats-server at ${url}${caFile === undefined ? '' : ', TLS (the broker requires it)'}`,
    close: () => nc.close()
  }
}

export const driver: SystemDriver = simpleDriver(open)

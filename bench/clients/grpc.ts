// gRPC unary over one HTTP/2 channel on loopback (insecure, as a floor for request/response RPC).
import * as grpc from '@grpc/grpc-js'
import { BENCH_SERVICE, GRPC_OPTIONS } from '../lib/grpc-service.ts'
import { SMALL_BYTES } from '../lib/wire.ts'
import { type BenchClient, field, simpleDriver, type SystemDriver } from './types.ts'

const BenchClientCtor = grpc.makeGenericClientConstructor(BENCH_SERVICE, 'Bench')
type Unary = (
  req: Buffer,
  options: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: Buffer) => void
) => void

const SMALL = Buffer.from(SMALL_BYTES)

async function open(target: Record<string, unknown>): Promise<BenchClient> {
  const host = field(target, 'host')
  if (host !== '127.0.0.1') throw new Error('the bench only talks to 127.0.0.1')
  const client = new BenchClientCtor(
    `${host}:${field(target, 'port')}`,
    grpc.credentials.createInsecure(),
    GRPC_OPTIONS
  )
  const unary = (name: 'echo' | 'blob', req: Buffer): Promise<Buffer> =>
    new Promise<Buffer>((resolve, reject) => {
      const fn = (client as unknown as Record<string, Unary>)[name]!.bind(client)
      fn(req, { deadline: Date.now() + 60_000 }, (err, res) =>
        err === null && res !== undefined ? resolve(res) : reject(err)
      )
    })
  return {
    async echo() {
      if ((await unary('echo', SMALL)).byteLength !== SMALL.byteLength)
        throw new Error('echo returned something else')
    },
    async blob(size) {
      const req = Buffer.alloc(4)
      req.writeUInt32BE(size)
      return (await unary('blob', req)).byteLength
    },
    path: () => `HTTP/2 to ${host}:${field(target, 'port')}`,
    async close() {
      client.close()
    }
  }
}

export const driver: SystemDriver = simpleDriver(open)

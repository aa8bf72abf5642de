// The gRPC server party: unary Echo and Blob on 127.0.0.1, insecure (as the loopback floor).
import * as grpc from '@grpc/grpc-js'
import { BENCH_SERVICE, GRPC_OPTIONS } from '../lib/grpc-service.ts'
import { serveParty } from '../lib/party.ts'
import { blob } from '../lib/wire.ts'

await serveParty(async () => {
  const server = new grpc.Server(GRPC_OPTIONS)
  server.addService(BENCH_SERVICE, {
    echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
      cb(null, call.request),
    blob: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const b = blob(call.request.readUInt32BE(0))
      cb(null, Buffer.from(b.buffer, b.byteOffset, b.byteLength))
    }
  })
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err === null ? resolve(p) : reject(err)
    )
  )
  return {
    info: { host: '127.0.0.1', port },
    party: {
      ops: {},
      stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve()))
    }
  }
})

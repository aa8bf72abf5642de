// The gRPC service of the bench, without protoc: two unary methods whose messages are raw bytes.
import type { ServiceDefinition } from '@grpc/grpc-js'

const identity = (b: Buffer): Buffer => b
const method = (name: string) => ({
  path: `/bench.Bench/${name}`,
  requestStream: false,
  responseStream: false,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity
})

export const BENCH_SERVICE = { echo: method('Echo'), blob: method('Blob') } satisfies ServiceDefinition

/** Channel options on both ends: messages of any size, no proxy (loopback only). */
export const GRPC_OPTIONS = {
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
  'grpc.enable_http_proxy': 0
}

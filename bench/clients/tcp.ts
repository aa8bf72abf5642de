// The raw TCP floor: one loopback socket, requests pipelined, answers matched in order.
import net from 'node:net'
import { blobRequest, FrameReader, OP_ECHO, request, SMALL_BYTES } from '../lib/wire.ts'
import { type BenchClient, field, simpleDriver, type SystemDriver } from './types.ts'

const ECHO = request(OP_ECHO, SMALL_BYTES)

async function open(target: Record<string, unknown>): Promise<BenchClient> {
  const host = field(target, 'host')
  if (host !== '127.0.0.1') throw new Error('the bench only talks to 127.0.0.1')
  const socket = net.connect({ host, port: Number(field(target, 'port')), noDelay: true })
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  const waiting: { resolve: (n: number) => void; reject: (e: Error) => void }[] = []
  const reader = new FrameReader()
  socket.on('data', (chunk) => {
    reader.push(chunk)
    for (let m = reader.next(); m !== undefined; m = reader.next()) waiting.shift()?.resolve(m.byteLength)
  })
  const failAll = (err: Error): void => {
    for (const w of waiting.splice(0)) w.reject(err)
  }
  socket.on('error', failAll)
  socket.on('close', () => failAll(new Error('socket closed')))
  const exchange = (req: Uint8Array): Promise<number> =>
    new Promise<number>((resolve, reject) => {
      waiting.push({ resolve, reject })
      socket.write(req)
    })
  return {
    async echo() {
      if ((await exchange(ECHO)) !== SMALL_BYTES.byteLength) throw new Error('echo returned something else')
    },
    blob: (size) => exchange(blobRequest(size)),
    path: () =>
      `tcp ${socket.localAddress}:${socket.localPort} -> ${socket.remoteAddress}:${socket.remotePort}`,
    async close() {
      socket.destroy()
    }
  }
}

export const driver: SystemDriver = simpleDriver(open)

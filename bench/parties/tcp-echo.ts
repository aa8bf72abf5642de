// The raw TCP floor: a Node `net` server on loopback answering length-prefixed requests in order.
import net from 'node:net'
import { serveParty } from '../lib/party.ts'
import { answer, FrameReader } from '../lib/wire.ts'

await serveParty(async () => {
  const sockets = new Set<net.Socket>()
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    const reader = new FrameReader()
    socket.on('data', (chunk) => {
      reader.push(chunk)
      for (let body = reader.next(); body !== undefined; body = reader.next()) {
        for (const part of answer(body)) socket.write(part)
      }
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const port = (server.address() as net.AddressInfo).port
  return {
    info: { host: '127.0.0.1', port },
    party: {
      ops: {},
      async stop() {
        for (const socket of sockets) socket.destroy()
        await new Promise<void>((resolve) => server.close(() => resolve()))
      }
    }
  }
})

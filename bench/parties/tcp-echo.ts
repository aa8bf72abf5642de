// The raw TCP floor: a Node `net` server on loopback answering length-prefixed requests in order.
import net from 'node:net'
import { serveParty } from '../lib/party.ts'
import { serveTcp } from '../lib/tcp-party.ts'
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
  return await serveTcp(server, sockets)
})

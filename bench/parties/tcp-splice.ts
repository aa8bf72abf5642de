// A byte relay for the hop floor of bench/hops.ts: every connection to it is joined to a new
// connection to 127.0.0.1:argv[0], bytes forwarded as they come, nothing parsed, nothing encrypted.
// It shows what four loopback hops between Node processes cost on the machine, before any protocol.
import net from 'node:net'
import { arg, serveParty } from '../lib/party.ts'
import { serveTcp } from '../lib/tcp-party.ts'

await serveParty(async () => {
  const target = Number(arg(0))
  const sockets = new Set<net.Socket>()
  const server = net.createServer({ noDelay: true }, (client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: target, noDelay: true })
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
    }
    client.on('data', (d) => upstream.write(d))
    upstream.on('data', (d) => client.write(d))
  })
  return await serveTcp(server, sockets)
})

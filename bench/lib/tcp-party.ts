// The shared part of the bench's plain TCP parties (the echo server, the byte relay): listen on a
// free loopback port, and stop by closing every socket, then the server.
import type net from 'node:net'
import type { Party } from './party.ts'

/** Listen with `server` on 127.0.0.1; `sockets` are the open ones, destroyed when the party stops. */
export async function serveTcp(
  server: net.Server,
  sockets: Set<net.Socket>
): Promise<{ info: Record<string, unknown>; party: Party }> {
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
}

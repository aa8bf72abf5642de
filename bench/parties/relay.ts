// The relay party: one agentmesh relay listening on loopback WebSockets and TCP, trusting the bench
// authority whose did is argv[0] (it reserves slots only for agents proving a naming right from it).
// argv[1], optional, is JSON: `maxReservations` (the capacity scenario holds more than the default).
// Run with --expose-gc, `stats` collects garbage first when asked (`gc: true`), so RSS and heap are
// comparable before and after agents arrive.
import { createRelay } from 'agentmesh'
import { arg, serveParty } from '../lib/party.ts'

const collect = (globalThis as { gc?: () => void }).gc

await serveParty(async () => {
  const authority = arg(0)
  const extra = JSON.parse(arg(1, '{}')) as { maxReservations?: number }
  const relay = await createRelay({
    listen: ['/ip4/127.0.0.1/tcp/0/ws', '/ip4/127.0.0.1/tcp/0'],
    trust: { acme: authority },
    ...(extra.maxReservations === undefined ? {} : { limits: { maxReservations: extra.maxReservations } })
  })
  const ws = relay.addrs.find((a) => a.includes('/ws/'))
  const tcp = relay.addrs.find((a) => !a.includes('/ws'))
  return {
    info: { ws, tcp, peerId: relay.peerId },
    party: {
      ops: {
        stats: (command) => {
          if (command.gc === true && collect !== undefined) {
            collect()
            collect()
          }
          const memory = process.memoryUsage()
          return {
            rss: memory.rss,
            heapUsed: memory.heapUsed,
            external: memory.external,
            reservations: relay.reservationCount(),
            admitted: relay.admission.size,
            refusals: relay.admission.refusals.size,
            names: relay.directory.size,
            connections: relay.node.getConnections().length,
            cpu: process.cpuUsage(),
            gc: collect !== undefined
          }
        }
      },
      stop: () => relay.stop()
    }
  }
})

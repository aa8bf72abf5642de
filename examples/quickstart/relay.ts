// The relay: the only process that listens. Agents and orchestrators dial out to it.
import { createRelay } from 'agentmesh'

const relay = await createRelay({ listen: ['/ip4/127.0.0.1/tcp/0/ws'] })
console.log(`relay listening at ${relay.addrs[0]}`)
// Tell the parent process where to find us (one JSON line on stdout).
console.log(JSON.stringify({ relay: relay.addrs[0] }))

const shutdown = async (): Promise<void> => {
  await relay.stop()
  process.exit(0)
}
process.once('SIGTERM', shutdown)
process.once('SIGINT', shutdown)

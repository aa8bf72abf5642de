// An edge agent behind NAT:
//   edge.ts --name <name> --relays <a,b> --key <file> --proofs <file> --trust <authority did> [--dcutr <module>|builtin] [--listen <ma>] [--announce <ma>]
// Holds its naming right (`--proofs`, saved with saveTokens) for its key (`--key`, saved with
// saveKey); serves /echo, /slow (`{ ms, echo }`: answers `echo` after `ms`) and /whoami; reports its built-in relay keeper's events as JSON lines.
import { allowAuthenticatedPeers, createAgent, loadTokens } from 'agentmesh'
import { loadKey } from 'agentmesh/identity'
import { emit, flags, required, stopOn } from './lines.ts'
import { describeUpgrade, directUpgrade } from './upgrade.ts'

const args = flags()
const name = required(args, 'name')
const relays = required(args, 'relays').split(',')
const upgrade = await directUpgrade(args)

const agent = await createAgent({
  name,
  relays,
  identity: await loadKey(required(args, 'key')),
  proofs: await loadTokens(required(args, 'proofs')),
  trust: { acme: required(args, 'trust') },
  // this suite is about connectivity; authorisation has its own tests
  authorizer: allowAuthenticatedPeers(),
  libp2p: { addresses: upgrade.addresses, services: upgrade.services }
})
const dcutr = describeUpgrade(agent.node, upgrade)
if (dcutr !== undefined) emit({ dcutr })
const keeper = agent.keeper
if (keeper === undefined) throw new Error('a named agent has no relay keeper')
for (const type of ['relay:connected', 'relay:disconnected', 'reservation:renewed'] as const) {
  keeper.addEventListener(type, (evt) => emit({ event: type, at: Date.now(), ...evt.detail }))
}
agent.handle('/echo', (x: unknown) => x)
agent.handle('/slow', async (x: { ms: number; echo: unknown }) => {
  await new Promise((resolve) => setTimeout(resolve, x.ms))
  return x.echo
})
agent.handle('/whoami', () => ({ peer: agent.peerId, relays: keeper.reserved }))
emit({
  ready: {
    peerId: agent.peerId,
    addrs: agent.addrs,
    reserved: keeper.reserved,
    listen: agent.node.getMultiaddrs().map(String).filter((a) => !a.includes('/p2p-circuit'))
  }
})
stopOn(async () => agent.stop())

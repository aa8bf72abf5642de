// A relay in the "public" namespace:
//   relay.ts --key <file> --listen <multiaddr[,…]> --trust <authority did> [--ttl-ms <ms>]
// The key file (written by the test with saveKey) is reused on a restart, so the relay keeps its
// PeerId and address. It reserves slots only for agents proving a naming right from the authority.
import { createRelay } from 'agentmesh'
import { loadKey } from 'agentmesh/identity'
import { emit, flags, required, stopOn } from './lines.ts'

const args = flags()
const key = await loadKey(required(args, 'key'))
const ttl = args.get('ttl-ms')
const relay = await createRelay({
  listen: required(args, 'listen').split(','),
  privateKey: key.toPrivateKey(),
  trust: { acme: required(args, 'trust') },
  ...(ttl === undefined ? {} : { limits: { reservationTtlMs: Number(ttl) } })
})
emit({ ready: { peerId: relay.peerId, addrs: relay.addrs } })
stopOn(async () => relay.stop())

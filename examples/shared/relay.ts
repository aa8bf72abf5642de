// The relay: the only process that listens. Agents and orchestrators dial out to it. Every example
// starts this same file.
import { createRelay } from 'agentmesh'
import { stopOnSignal } from './stop-on-signal.ts'

const authorityDid = process.argv[2]
if (authorityDid === undefined) throw new Error('usage: relay.ts <authority-did>')

// admits only agents with a naming right from acme's authority: never an open proxy
const relay = await createRelay({ listen: ['/ip4/127.0.0.1/tcp/0/ws'], trust: { acme: authorityDid } })
console.log(`relay listening at ${relay.addrs[0]}`)
// Tell the parent process where to find us (one JSON line on stdout).
console.log(JSON.stringify({ relay: relay.addrs[0] }))

stopOnSignal(() => relay.stop())

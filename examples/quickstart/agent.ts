// An edge agent: lives next to the resource, dials out to the relay, serves intents by name.
import os from 'node:os'
import { createAgent, MeshError } from 'agentmesh'

const relayAddr = process.argv[2]
if (relayAddr === undefined) throw new Error('usage: agent.ts <relay-multiaddr>')

const agent = await createAgent({ name: 'acme/prod/demo', relays: [relayAddr] })

agent
  .handle('/greet', (args: { who: string }, ctx) => {
    return { greeting: `hello ${args.who}`, from: os.hostname(), caller: ctx.caller.peer.slice(-8) }
  })
  .handle('/math/divide', (args: { a: number; b: number }) => {
    if (args.b === 0)
      throw new MeshError('INVALID_ARGUMENT', 'cannot divide by zero', { details: { field: 'b' } })
    return args.a / args.b
  })

console.log(`agent acme/prod/demo is up (peer ${agent.peerId.slice(-8)}), reachable only through the relay`)
console.log(JSON.stringify({ ready: true }))

const shutdown = async (): Promise<void> => {
  await agent.stop()
  process.exit(0)
}
process.once('SIGTERM', shutdown)
process.once('SIGINT', shutdown)

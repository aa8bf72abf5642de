// An edge agent: lives next to the resource, dials out to the relay, serves intents by name, and
// runs a call only when the caller holds a capability from the authority it trusts.
import os from 'node:os'
import { createAgent, defineIntent } from 'agentmesh'

const [relayAddr, authorityDid] = process.argv.slice(2)
if (relayAddr === undefined || authorityDid === undefined) throw new Error('usage: agent.ts <relay> <authority-did>')

const greet = defineIntent({ cmd: '/demo/greet', description: 'Say hello' })
const count = defineIntent({ cmd: '/demo/count', description: 'Count to `to`, reporting each step' })
const shutdown = defineIntent({ cmd: '/admin/shutdown', description: 'Stop the host (nobody was allowed)' })

const agent = await createAgent({
  name: 'acme/prod/demo',
  relays: [relayAddr],
  trust: { acme: authorityDid }, // deny by default: only chains rooted in acme's key get through
  audit: (event) => console.log(`audit: ${event.allowed ? 'allowed' : 'denied '} ${event.cmd}${event.reason ? ` (${event.reason})` : ''}`)
})

agent
  .handle(greet, (args: { who: string }) => ({ greeting: `hello ${args.who}`, from: os.hostname() }))
  .handle(count, async (args: { to: number }, ctx) => {
    for (let i = 1; i <= args.to; i++) {
      await ctx.progress({ step: i })
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    return { counted: args.to }
  })
  .handle(shutdown, () => 'this never runs')

console.log(`agent acme/prod/demo is up (peer …${agent.peerId.slice(-8)}), reachable only through the relay`)
console.log(JSON.stringify({ ready: true }))

const stop = async (): Promise<void> => {
  await agent.stop()
  process.exit(0)
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)

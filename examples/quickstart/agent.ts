// An edge agent: lives next to the resource, dials out to the relay, serves intents by name, and
// runs a call only when the caller holds a capability from the authority it trusts.
import os from 'node:os'
import { join } from 'node:path'
import { createAgent, defineIntent, loadTokens } from 'agentmesh'
import { loadKey } from 'agentmesh/identity'
import { z } from 'zod'
import { stopOnSignal } from '../shared/stop-on-signal.ts'

const [relayAddr, authorityDid, dir] = process.argv.slice(2)
if (relayAddr === undefined || authorityDid === undefined || dir === undefined) {
  throw new Error('usage: agent.ts <relay> <authority-did> <keys-dir>')
}

// each intent declared once: the agent validates arguments against it, callers get its types
const greet = defineIntent({ cmd: '/demo/greet', description: 'Say hello', args: z.object({ who: z.string() }) })
const count = defineIntent({
  cmd: '/demo/count',
  description: 'Count to `to`, reporting each step',
  args: z.object({ to: z.number().int().min(1) }),
  progress: z.object({ step: z.number() })
})
const shutdown = defineIntent({ cmd: '/admin/shutdown', description: 'Stop the host (nobody was allowed)' })

const agent = await createAgent({
  name: 'acme/prod/demo',
  relays: [relayAddr],
  identity: await loadKey(join(dir, 'agent.key')),
  proofs: await loadTokens(join(dir, 'agent.ucan')), // the right to the name acme/prod/demo
  trust: { acme: authorityDid }, // deny by default: only chains rooted in acme's key get through
  audit: (event) => console.log(`audit: ${event.allowed ? 'allowed' : 'denied '} ${event.cmd}${event.reason ? ` (${event.reason})` : ''}`)
})

agent
  .handle(greet, (args) => ({ greeting: `hello ${args.who}`, from: os.hostname() }))
  .handle(count, async (args, ctx) => {
    for (let i = 1; i <= args.to; i++) {
      await ctx.progress({ step: i })
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    return { counted: args.to }
  })
  .handle(shutdown, () => 'this never runs')

console.log(`agent acme/prod/demo is up (peer …${agent.peerId.slice(-8)}), reachable only through the relay`)
console.log(JSON.stringify({ ready: true }))

stopOnSignal(() => agent.stop())

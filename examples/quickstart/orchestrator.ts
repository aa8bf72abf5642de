// An orchestrator: knows the agent's name, a relay and its own capabilities; never the agent's credentials.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createAgent, MeshError } from 'agentmesh'
import { loadKey } from 'agentmesh/identity'

const [relayAddr, authorityDid, dir] = process.argv.slice(2)
if (relayAddr === undefined || authorityDid === undefined || dir === undefined) {
  throw new Error('usage: orchestrator.ts <relay> <authority-did> <keys-dir>')
}

const orchestrator = await createAgent({
  relays: [relayAddr],
  trust: { acme: authorityDid }, // a name resolves only to a record signed under acme's authority
  identity: await loadKey(join(dir, 'orchestrator.key')),
  proofs: [await readFile(join(dir, 'greet.ucan')), await readFile(join(dir, 'count.ucan'))]
})

async function show(title: string, run: () => Promise<unknown>): Promise<void> {
  console.log(title)
  const started = performance.now()
  try {
    const result = await run()
    console.log(`    -> ${JSON.stringify(result)} (${(performance.now() - started).toFixed(1)} ms)`)
  } catch (err) {
    if (!(err instanceof MeshError)) throw err
    console.log(`    -> ${err.code}: ${err.message} (${(performance.now() - started).toFixed(1)} ms)`)
  }
}

await show('1. /demo/greet on acme/prod/demo: resolve the name, dial through the relay, call', () =>
  orchestrator.call('acme/prod/demo', '/demo/greet', { who: 'world' })
)
await show('2. /demo/count to 3, streamed: progress events, then the result', async () => {
  const call = orchestrator.stream('acme/prod/demo', '/demo/count', { to: 3 })
  for await (const event of call) console.log(`    progress ${JSON.stringify(event)}`)
  return await call.result
})
await show('3. /demo/count to 50: the delegation caps `to` at 5, so the agent refuses', () =>
  orchestrator.call('acme/prod/demo', '/demo/count', { to: 50 })
)
await show('4. /admin/shutdown: nobody delegated it to us, so the agent refuses', () =>
  orchestrator.call('acme/prod/demo', '/admin/shutdown', {})
)
await show('5. acme/prod/missing: a name nobody registered', () =>
  orchestrator.call('acme/prod/missing', '/demo/greet', { who: 'nobody' })
)

await orchestrator.stop()

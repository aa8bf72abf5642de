// An orchestrator: knows only the agent's name and a relay; never holds the agent's credentials.
import { createAgent, MeshError } from 'agentmesh'

const relayAddr = process.argv[2]
if (relayAddr === undefined) throw new Error('usage: orchestrator.ts <relay-multiaddr>')

const orchestrator = await createAgent({ relays: [relayAddr] })

async function show(title: string, run: () => Promise<unknown>): Promise<void> {
  const started = performance.now()
  try {
    const result = await run()
    console.log(`${title}\n    -> ${JSON.stringify(result)} (${(performance.now() - started).toFixed(1)} ms)`)
  } catch (err) {
    if (!(err instanceof MeshError)) throw err
    console.log(
      `${title}\n    -> ${err.code}: ${err.message} (${(performance.now() - started).toFixed(1)} ms)`
    )
  }
}

await show("call '/greet' on acme/prod/demo (resolve the name, dial through the relay)", () =>
  orchestrator.call('acme/prod/demo', '/greet', { who: 'world' })
)
await show("call '/greet' again (connection already open)", () =>
  orchestrator.call('acme/prod/demo', '/greet', { who: 'again' })
)
await show("call '/math/divide' with b = 0 (the agent refuses with a typed error)", () =>
  orchestrator.call('acme/prod/demo', '/math/divide', { a: 1, b: 0 })
)
await show("call '/deploy' (an intent the agent does not serve)", () =>
  orchestrator.call('acme/prod/demo', '/deploy', {})
)
await show('call acme/prod/missing (a name nobody registered)', () =>
  orchestrator.call('acme/prod/missing', '/greet', { who: 'nobody' })
)

await orchestrator.stop()

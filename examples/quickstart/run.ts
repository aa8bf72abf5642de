// The quickstart: starts a relay, an edge agent and an orchestrator as three OS processes on
// loopback, shows what happens, and stops everything. `npm run demo` runs this file.
import { runDemo } from '../shared/launcher.ts'
import { setUpAuthority } from './authority.ts'

await runDemo(
  {
    from: import.meta.url,
    tempPrefix: 'agentmesh-demo-',
    finished: 'demo finished: three processes, one relay, calls by name'
  },
  async (demo) => {
    demo.watchdog(15_000)
    const { authorityDid } = await setUpAuthority(demo.dir)
    console.log(
      `[operator] authority ${authorityDid.slice(0, 20)}… granted the name acme/prod/demo, and delegated /demo/greet and /demo/count (to <= 5)`
    )
    const relayAddr = await demo.startRelay(authorityDid)
    const args = [relayAddr, authorityDid, demo.dir]
    await demo.start('agent', './agent.ts', args).json
    return await demo.start('orchestrator', './orchestrator.ts', args).exited
  }
)

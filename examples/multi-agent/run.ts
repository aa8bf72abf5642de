// The multi-agent demo: a relay, a librarian agent, a compliance agent and an orchestrator as four OS
// processes on loopback; shows what happens, and stops everything.
import { runDemo } from '../shared/launcher.ts'
import { setUpAuthority } from './authority.ts'

await runDemo(
  {
    from: import.meta.url,
    tempPrefix: 'agentmesh-multi-',
    finished:
      "demo finished: an onward call on the orchestrator's behalf allowed, one beyond its hand-over refused"
  },
  async (demo) => {
    demo.watchdog(30_000)
    const { authorityDid } = await setUpAuthority(demo.dir)
    console.log(
      `[operator] authority ${authorityDid.slice(0, 20)}… named acme/prod/librarian and acme/prod/compliance, and delegated /library and /compliance to the orchestrator`
    )
    const relayAddr = await demo.startRelay(authorityDid)
    const args = [relayAddr, authorityDid, demo.dir]
    const librarian = demo.start('librarian', './librarian.ts', args)
    const compliance = demo.start('compliance', './compliance.ts', args)
    await Promise.all([librarian.json, compliance.json])
    return await demo.start('orchestrator', './orchestrator.ts', args).exited
  }
)

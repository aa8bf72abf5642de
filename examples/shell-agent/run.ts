// The shell agent demo: a relay, the VM agent and an orchestrator as three OS processes on loopback;
// then, in this process, what the agent would have executed had a policy let the injection through.
import { runDemo } from '../shared/launcher.ts'
import { setUpAuthority } from './authority.ts'
import { PROGRAMS, runProgram } from './exec.ts'

await runDemo(
  {
    from: import.meta.url,
    tempPrefix: 'agentmesh-shell-',
    finished: 'demo finished: one command ran, four were refused before anything ran'
  },
  async (demo) => {
    demo.watchdog(15_000)
    const { authorityDid } = await setUpAuthority(demo.dir)
    console.log(
      `[operator] authority ${authorityDid.slice(0, 20)}… named the VM agent acme/prod/web-1, and delegated /shell for systemctl status|restart and journalctl -u, units nginx|redis`
    )
    const relayAddr = await demo.startRelay(authorityDid)
    const args = [relayAddr, authorityDid, demo.dir]
    await demo.start('agent', './agent.ts', args).json
    const code = await demo.start('orchestrator', './orchestrator.ts', args).exited
    await demo.stopAll()
    // had a policy allowed that unit, this is all the agent would do: one program, two arguments, no shell
    const injected = await runProgram(PROGRAMS.systemctl!, ['status', 'nginx; rm -rf /'])
    console.log(
      '[run] what if a policy had let "nginx; rm -rf /" through? the agent runs execFile, no shell:'
    )
    for (const line of injected.stdout.trimEnd().split('\n')) console.log(`    | ${line}`)
    return code
  }
)

// The database-agent demo: starts a throwaway PostgreSQL, a relay, the database agent and two
// orchestrators (one after the other) as OS processes on loopback, then stops and deletes everything.
import { runDemo } from '../shared/launcher.ts'
import { setUpAuthority } from './authority.ts'
import { startPostgres } from './postgres.ts'

await runDemo(
  {
    from: import.meta.url,
    tempPrefix: 'agentmesh-db-demo-',
    finished: 'demo finished: PostgreSQL stopped and deleted, no process left'
  },
  async (demo) => {
    const started = performance.now()
    const postgres = await startPostgres()
    demo.onCleanUp(() => postgres.stop()) // after the agent has stopped
    const shown = postgres.url.replace(/:[^:@]*@/, ':…@') // hide the password, even here
    console.log(
      `[operator] PostgreSQL up in ${(performance.now() - started).toFixed(0)} ms; the agent will use ${shown}`
    )
    // the watchdog starts once the database is up (a first run may spend minutes installing it)
    demo.watchdog(30_000)
    const { authorityDid } = await setUpAuthority(demo.dir)
    console.log(
      '[operator] granted acme/prod/db; delegated /sql: read only to the analyst, orders only to the writer'
    )
    const relayAddr = await demo.startRelay(authorityDid)
    const args = [relayAddr, authorityDid, demo.dir]
    await demo.start('agent', './agent.ts', args, { DATABASE_URL: postgres.url }).json
    let code: number | null = 0
    for (const role of ['analyst', 'orders-service']) {
      code = await demo.start(role, './orchestrator.ts', [...args, role]).exited
      if (code !== 0) break
    }
    return code
  }
)

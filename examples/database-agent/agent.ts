// The database agent: runs next to PostgreSQL, holds the connection string, and runs a caller's SQL
// only when every action of every statement is allowed by the caller's chain and its own policy.
import { join } from 'node:path'
import { createAgent, defineIntent, loadTokens, MeshError } from 'agentmesh'
import { loadKey } from 'agentmesh/identity'
import pg from 'pg'
import { z } from 'zod'
import { stopOnSignal } from '../shared/stop-on-signal.ts'
import { type PlannedStatement, planQuery } from './sql.ts'

const [relayAddr, authorityDid, dir] = process.argv.slice(2)
// the connection string stays in this process: callers only ever know the name acme/prod/db
const databaseUrl = process.env.DATABASE_URL
if (relayAddr === undefined || authorityDid === undefined || dir === undefined || databaseUrl === undefined) {
  throw new Error('usage: DATABASE_URL=postgres://… agent.ts <relay> <authority-did> <keys-dir>')
}
const pool = new pg.Pool({ connectionString: databaseUrl, max: 4, statement_timeout: 5_000 })
pool.on('error', (err) => console.error(`PostgreSQL: ${err.message}`)) // an idle connection lost

const query = defineIntent({
  cmd: '/sql/query',
  description: 'Run SQL (one or more statements, in one transaction); each statement is checked first',
  args: z.object({ sql: z.string().max(10_000) })
})

const agent = await createAgent({
  name: 'acme/prod/db',
  relays: [relayAddr],
  identity: await loadKey(join(dir, 'agent.key')),
  proofs: await loadTokens(join(dir, 'agent.ucan')),
  trust: { acme: authorityDid },
  // the agent's own rules, whatever a caller was delegated: payroll is off limits, and only plain
  // reads and writes go through (no DROP, TRUNCATE, ALTER, BEGIN, DO…)
  localPolicy: ({ phase, args }) => {
    if (phase === 'request') return true
    const { op, table } = args as { op: string; table: string }
    if (table === 'payroll') return 'nobody may touch payroll'
    return ['select', 'insert', 'update', 'delete'].includes(op) || `${op} statements are never run here`
  },
  audit: (event) =>
    console.log(
      `audit: ${event.allowed ? 'allowed' : 'denied '} ${event.cmd}${event.reason ? ` (${event.reason})` : ''}`
    )
})

agent.handle(query, async (args, ctx) => {
  let plan: PlannedStatement[]
  try {
    plan = planQuery(args.sql)
  } catch (err) {
    const lines = (err as Error).message.split('\n') // the parser's first line, and what it did not expect
    const unexpected = lines.find((l) => l.startsWith('Unexpected'))?.split('. Instead')[0]
    throw new MeshError(
      'INVALID_ARGUMENT',
      `not valid SQL: ${[lines[0], unexpected].filter(Boolean).join(' ')}`
    )
  }
  const actions = plan.flatMap((s) => s.actions.map((a) => `${a.cmd} ${a.args.table}`))
  console.log(`derived: ${plan.length} statement(s), actions: ${actions.join(', ') || 'none'}`)
  // every action of every statement is checked before anything runs: one refusal refuses the whole call
  for (const statement of plan) {
    for (const action of statement.actions) await ctx.authorize(action.cmd, action.args)
  }
  const readOnly = plan.every((s) => s.actions.every((a) => a.args.op === 'select'))
  const client = await pool.connect()
  try {
    await client.query(readOnly ? 'BEGIN READ ONLY' : 'BEGIN')
    const results = []
    for (const statement of plan) {
      // the extended protocol: PostgreSQL itself refuses more than one statement per query
      const config = { text: statement.sql, queryMode: 'extended' }
      const result = await client.query(config)
      console.log(`ran: ${statement.sql}`)
      // JSON round trip: dates and other driver types become plain data for the wire
      results.push({
        command: result.command,
        rowCount: result.rowCount,
        rows: JSON.parse(JSON.stringify(result.rows))
      })
    }
    await client.query('COMMIT')
    return results
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {}) // nothing of the call stays
    throw new MeshError('FAILED_PRECONDITION', `PostgreSQL: ${(err as Error).message}`)
  } finally {
    client.release()
  }
})

console.log(`agent acme/prod/db is up (peer …${agent.peerId.slice(-8)}), PostgreSQL behind it`)
console.log(JSON.stringify({ ready: true }))

stopOnSignal(async () => {
  await agent.stop()
  await pool.end()
})

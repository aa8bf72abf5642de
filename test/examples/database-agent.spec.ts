import assert from 'node:assert/strict'
import { planQuery } from '../../examples/database-agent/sql.ts'
import { runExample } from '../fixtures/examples.ts'

describe('examples/database-agent: SQL checked statement by statement before it runs', () => {
  it('derives one action per table and operation, from the syntax tree', () => {
    const actions = (sql: string) =>
      planQuery(sql).map((s) => s.actions.map((a) => `${a.cmd} ${a.args.table}`))
    assert.deepEqual(actions('SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id'), [
      ['/sql/select orders', '/sql/select customers']
    ])
    assert.deepEqual(actions('select (select max(salary) from payroll) from orders'), [
      ['/sql/select orders', '/sql/select payroll']
    ])
    assert.deepEqual(actions('WITH x AS (DELETE FROM payroll RETURNING *) SELECT * FROM x'), [
      ['/sql/delete payroll', '/sql/select x']
    ])
    assert.deepEqual(actions('select 1; DROP TABLE orders; TRUNCATE customers'), [
      [],
      ['/sql/drop orders'],
      ['/sql/truncate customers']
    ])
    assert.deepEqual(
      actions('UPDATE ORDERS SET total = 1 FROM customers WHERE customers.id = orders.customer_id'),
      [['/sql/update orders', '/sql/select customers']]
    )
  })

  it('runs what it checked: a string literal that hides a statement elsewhere is split as PostgreSQL splits it', () => {
    // standard strings: '\' is a complete literal, so PostgreSQL would run the DROP: so is it checked
    assert.deepEqual(
      planQuery("SELECT '\\'; DROP TABLE orders; --'").map((s) => s.actions.map((a) => a.cmd)),
      [[], ['/sql/drop']]
    )
    // nested comments: PostgreSQL sees one comment, and so does the parser
    assert.equal(planQuery('SELECT 1 /* /* */ ; DROP TABLE orders; /* */ */').length, 1)
    assert.throws(() => planQuery("SELECT * FROM orders WHERE id = 1' OR '1'='1"), /Syntax error/)
  })

  it('runs the demo for real: PostgreSQL, relay, agent, two orchestrators; exits 0 and leaves nothing behind', async function () {
    this.timeout(600_000) // a fresh machine installs PostgreSQL first
    // also checks that no relay, agent, orchestrator or PostgreSQL process (in its own session) is left
    const { code, output, ms } = await runExample('database-agent', [], ['agentmesh-pg-'])
    assert.equal(code, 0, output)
    assert.doesNotMatch(output, /!! expected/, output)
    // each orchestrator's own lines: the agent's lines interleave with them
    const said = (role: string): string =>
      output
        .split('\n')
        .filter((line) => line.startsWith(`[${role}] `))
        .join('\n')
    const analyst = said('analyst')
    const writer = said('orders-service')
    assert.match(analyst, /-> SELECT \[\{"id":1,"name":"Ada","total":"120.00"\}/, 'the permitted SELECT')
    assert.match(analyst, /DELETE FROM orders WHERE id = 1\n.*-> PERMISSION_DENIED: MatchError/, 'read only')
    assert.match(
      analyst,
      /SELECT \* FROM payroll\n.*-> PERMISSION_DENIED: local policy: nobody may touch payroll/
    )
    assert.match(analyst, /1' OR '1'='1\n.*-> INVALID_ARGUMENT: not valid SQL: Syntax error/, 'not SQL')
    assert.match(
      analyst,
      /DELETE FROM customers; --'\n.*-> PERMISSION_DENIED: MatchError/,
      'valid SQL injection'
    )
    assert.match(writer, /-> UPDATE \[\{"id":2,"status":"shipped"\}\]/, 'the writer updates orders')
    assert.match(writer, /UPDATE customers SET name = 'x'\n.*-> PERMISSION_DENIED: MatchError/, 'orders only')
    assert.match(
      writer,
      /DROP TABLE orders\n.*-> PERMISSION_DENIED: local policy: drop statements are never run/
    )
    assert.match(writer, /-> SELECT \[\{"orders":"3"\}\]/, 'orders survived the refused multi-statement call')
    const ran = output.split('\n').filter((line) => line.includes('[agent] ran: '))
    assert.equal(ran.length, 3, `only the three permitted statements ran:\n${ran.join('\n')}`)
    assert.ok(ran.every((line) => !/DROP|DELETE/.test(line)))
    console.log(
      `      (demo took ${(ms / 1000).toFixed(1)} s; ${/PostgreSQL up in \d+ ms/.exec(output)?.[0]})`
    )
  })
})

// An orchestrator: knows the agent's name, a relay and its own capability; never the database's
// address or password. Run as `analyst` (read only) or `orders-service` (writes to orders only).
import { join } from 'node:path'
import { createAgent, type ErrorCode, loadTokens, MeshError } from 'agentmesh'
import { loadKey } from 'agentmesh/identity'

const [relayAddr, authorityDid, dir, role] = process.argv.slice(2)
if (relayAddr === undefined || authorityDid === undefined || dir === undefined || role === undefined) {
  throw new Error('usage: orchestrator.ts <relay> <authority-did> <keys-dir> <analyst|orders-service>')
}

const orchestrator = await createAgent({
  relays: [relayAddr],
  trust: { acme: authorityDid },
  identity: await loadKey(join(dir, `${role}.key`)),
  proofs: await loadTokens(join(dir, `${role}.ucan`))
})

/** What `/sql/query` returns: one entry per statement. */
type Results = Array<{ command: string; rowCount: number | null; rows: unknown[] }>

/** Send SQL and print the outcome; an outcome other than `expected` makes the demo fail. */
async function sql(title: string, expected: 'ok' | ErrorCode, text: string): Promise<void> {
  console.log(`${title}\n    ${text}`)
  let outcome = 'ok'
  try {
    const results = await orchestrator.call<Results>('acme/prod/db', '/sql/query', { sql: text })
    for (const r of results) console.log(`    -> ${r.command} ${JSON.stringify(r.rows)}`)
  } catch (err) {
    if (!(err instanceof MeshError)) throw err
    outcome = err.code
    console.log(`    -> ${err.code}: ${err.message}`)
  }
  if (outcome !== expected) {
    console.log(`    !! expected ${expected}`)
    process.exitCode = 1
  }
}

const DENIED = 'PERMISSION_DENIED'
if (role === 'analyst') {
  await sql(
    '1. analyst: a SELECT joining two tables, allowed',
    'ok',
    'SELECT o.id, c.name, o.total FROM orders o JOIN customers c ON c.id = o.customer_id ORDER BY o.id'
  )
  await sql(
    '2. analyst: a DELETE, refused by the read-only delegation',
    DENIED,
    'DELETE FROM orders WHERE id = 1'
  )
  await sql(
    '3. analyst: payroll, refused by the agent whatever the delegation says',
    DENIED,
    'SELECT * FROM payroll'
  )
  await sql(
    '4. analyst: an injection-looking string that is not SQL: the parser refuses it',
    'INVALID_ARGUMENT',
    "SELECT * FROM orders WHERE id = 1' OR '1'='1"
  )
  await sql(
    '5. analyst: an injection that is valid SQL: its second statement is a DELETE, the whole call is refused',
    DENIED,
    "SELECT * FROM customers WHERE name = ''; DELETE FROM customers; --'"
  )
} else {
  const update = "UPDATE orders SET status = 'shipped' WHERE id = 2 RETURNING id, status"
  await sql('6. orders-service: an UPDATE on orders, allowed', 'ok', update)
  await sql(
    '7. orders-service: an UPDATE on customers, refused (orders only)',
    DENIED,
    "UPDATE customers SET name = 'x'"
  )
  await sql(
    '8. orders-service: a SELECT then a DROP, refused as a whole',
    DENIED,
    'SELECT count(*) FROM orders; DROP TABLE orders'
  )
  await sql(
    '9. orders-service: nothing of call 8 ran, orders is still there',
    'ok',
    'SELECT count(*) AS orders FROM orders'
  )
}

await orchestrator.stop()

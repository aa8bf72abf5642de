// From SQL text to what the agent checks and runs: each statement parsed by a real PostgreSQL parser,
// its actions derived from the syntax tree (never from the text), and the SQL to run printed back
// from that tree, so that what runs is exactly what was checked.
import { astVisitor, parse, type Statement, toSql } from 'pgsql-ast-parser'

/** A derived action, for `ctx.authorize(cmd, args)`: `/sql/update { op: 'update', table: 'orders' }`. */
export interface SqlAction {
  cmd: string
  args: { op: string; table: string }
}

/** One statement: the SQL that will run and every action it takes. */
export interface PlannedStatement {
  sql: string
  actions: SqlAction[]
}

/** Statement types that only read (besides the tables they select from, found by the visitor). */
const QUERIES = new Set(['select', 'union', 'union all', 'with', 'with recursive', 'values'])

/** The tables a DDL or other statement names: `DROP TABLE orders`, `TRUNCATE orders`… */
function namedTables(statement: Statement): string[] {
  const s = statement as {
    names?: Array<{ name: string }>
    tables?: Array<{ name: string }>
    name?: unknown
    table?: unknown
  }
  const one = [s.name, s.table].filter(
    (n): n is { name: string } => typeof (n as { name?: unknown })?.name === 'string'
  )
  const names = [...(s.names ?? []), ...(s.tables ?? []), ...one].map((n) => n.name)
  return names.length === 0 ? ['*'] : names
}

function planStatement(statement: Statement): PlannedStatement {
  const writes = new Map<string, string>() // table -> op
  const reads = new Set<string>()
  if (!QUERIES.has(statement.type) && !['insert', 'update', 'delete'].includes(statement.type)) {
    // DDL and everything else (DROP, TRUNCATE, ALTER, BEGIN, DO…): `drop table orders` -> drop on orders
    const op = statement.type.split(' ')[0]!
    for (const table of namedTables(statement)) writes.set(table, op)
  }
  // visits the whole tree: subqueries, joins, CTEs (`WITH x AS (DELETE FROM payroll …)`)
  const visitor = astVisitor((v) => ({
    tableRef: (t) => void reads.add(t.name),
    insert: (s) => {
      writes.set(s.into.name, 'insert')
      v.super().insert(s)
    },
    update: (s) => {
      writes.set(s.table.name, 'update')
      v.super().update(s)
    },
    delete: (s) => {
      writes.set(s.from.name, 'delete')
      v.super().delete(s)
    }
  }))
  visitor.statement(statement)
  const actions: SqlAction[] = []
  const add = (op: string, table: string): void =>
    void actions.push({ cmd: `/sql/${op}`, args: { op, table } })
  for (const [table, op] of writes) add(op, table)
  for (const table of reads) if (!writes.has(table)) add('select', table)
  return { sql: toSql.statement(statement), actions }
}

/**
 * Parse `sql` (one or more statements) and derive each statement's actions.
 *
 * @throws Error when the text is not valid SQL (the parser's message says where)
 */
export function planQuery(sql: string): PlannedStatement[] {
  const statements = parse(sql)
  if (statements.length === 0) throw new Error('no SQL statement')
  return statements.map(planStatement)
}

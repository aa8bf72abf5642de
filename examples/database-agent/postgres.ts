// A throwaway PostgreSQL for the demo: a real server, in a temporary folder, on 127.0.0.1 and a free
// port. Installs Debian's `postgresql` package first when its programs are missing. Not needed when
// you already have a database: give the agent its connection string and skip this file.
import { execFile, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, rmSync } from 'node:fs'
import { chown, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'

const run = promisify(execFile)

export interface Postgres {
  /** What the agent connects with (its own login, not the superuser's). */
  url: string
  /** Stop the server and delete its folder; synchronous, so that it also works from an exit handler. */
  stop(): void
}

/** The folder holding `initdb` and `pg_ctl`: Debian keeps them under /usr/lib/postgresql/<version>/bin. */
function findBinDir(): string | undefined {
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : []
  return versions.map((v) => join(root, v, 'bin')).find((dir) => existsSync(join(dir, 'pg_ctl')))
}

async function installPostgres(): Promise<string> {
  const found = findBinDir()
  if (found !== undefined) return found
  if (process.getuid?.() !== 0) throw new Error('PostgreSQL is not installed: apt-get install -y postgresql')
  console.log('[postgres] installing PostgreSQL with apt-get (first run only)…')
  await run('sh', ['-c', 'apt-get update && apt-get install -y postgresql'], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    maxBuffer: 64 * 1024 * 1024
  })
  const installed = findBinDir()
  if (installed === undefined)
    throw new Error('apt-get installed postgresql, but pg_ctl is not in /usr/lib/postgresql')
  return installed
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** Start a fresh cluster, load schema.sql, create the agent's login; `stop()` undoes it all. */
export async function startPostgres(): Promise<Postgres> {
  const bin = await installPostgres()
  // initdb refuses to run as root: as root, the server runs as the `postgres` user the package created
  const asRoot = process.getuid?.() === 0
  const as = (cmd: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] : [join(bin, cmd), args]
  const dir = await mkdtemp(join(asRoot ? '/tmp' : tmpdir(), 'agentmesh-pg-')) // /tmp: reachable by `postgres`
  const data = join(dir, 'data')
  const superPassword = randomBytes(12).toString('hex')
  const stop = (): void => {
    if (existsSync(join(data, 'postmaster.pid'))) {
      try {
        execFileSync(...as('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']), { stdio: 'ignore' })
      } catch {
        // already stopped
      }
    }
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await writeFile(join(dir, 'pwfile'), superPassword, { mode: 0o600 })
    if (asRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString())
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString())
      await chown(dir, uid, gid)
      await chown(join(dir, 'pwfile'), uid, gid)
    }
    await run(
      ...as('initdb', [
        '-D',
        data,
        '-U',
        'postgres',
        '-A',
        'scram-sha-256',
        `--pwfile=${join(dir, 'pwfile')}`,
        '-N'
      ])
    )
    let port = 0
    for (let attempt = 1; ; attempt++) {
      port = await freePort()
      const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off`
      try {
        await run(
          ...as('pg_ctl', [
            '-D',
            data,
            '-l',
            join(dir, 'server.log'),
            '-o',
            options,
            '-w',
            '-t',
            '60',
            'start'
          ])
        )
        break
      } catch (err) {
        // another process took the port between our probe and the server's bind: try another one
        if (attempt === 3) {
          const log = await readFile(join(dir, 'server.log'), 'utf8').catch(() => '')
          throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${log}`)
        }
      }
    }
    const agentPassword = randomBytes(12).toString('hex')
    const admin = new pg.Client({
      host: '127.0.0.1',
      port,
      user: 'postgres',
      password: superPassword,
      database: 'postgres'
    })
    await admin.connect()
    await admin.query('CREATE DATABASE shop')
    await admin.end()
    const shop = new pg.Client({
      host: '127.0.0.1',
      port,
      user: 'postgres',
      password: superPassword,
      database: 'shop'
    })
    await shop.connect()
    await shop.query(await readFile(new URL('./schema.sql', import.meta.url), 'utf8'))
    await shop.query(`CREATE ROLE mesh_agent LOGIN PASSWORD ${shop.escapeLiteral(agentPassword)}`)
    // the agent's login could read payroll: the agent's local policy is what keeps callers out of it
    await shop.query('GRANT SELECT, INSERT, UPDATE, DELETE ON customers, orders, payroll TO mesh_agent')
    await shop.end()
    return { url: `postgres://mesh_agent:${agentPassword}@127.0.0.1:${port}/shop`, stop }
  } catch (err) {
    stop()
    throw err
  }
}

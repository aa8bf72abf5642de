// The NATS broker for the request/reply peer: Debian's `nats-server`, installed when missing
// (we are root on the bench machine), started on 127.0.0.1 with a free port and 64 MiB payloads;
// with a certificate, a second broker that requires TLS of every client (a `tls {}` block).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { track } from './proc.ts'
import type { SelfSignedCert } from './self-signed-cert.ts'

/** The path of the executable `cmd` on PATH (or in the usual system folders); undefined if none. */
export function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/usr/local/bin'])) {
    const file = path.join(dir, cmd)
    try {
      execFileSync('test', ['-x', file])
      return file
    } catch {}
  }
  return undefined
}

/** The path of nats-server, installing the Debian package if needed; undefined if impossible. */
export function ensureNatsServer(log: (line: string) => void): string | undefined {
  const found = which('nats-server')
  if (found !== undefined) return found
  if (process.getuid?.() !== 0) {
    log('nats-server is not installed and we are not root: skipping NATS')
    return undefined
  }
  log('installing nats-server (apt-get)…')
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    execFileSync('apt-get', ['update'], { stdio: 'ignore', timeout: 180_000, env })
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'nats-server'], {
      stdio: 'ignore',
      timeout: 300_000,
      env
    })
  } catch (err) {
    log(`could not install nats-server: ${(err as Error).message}`)
    return undefined
  }
  return which('nats-server')
}

export async function freePort(): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

async function waitForPort(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`nats-server did not listen on ${port} within ${ms} ms`)
}

export interface NatsServer {
  url: string
  /** The broker's process id (for CPU accounting). */
  pid: number
  /** The certificate its clients trust, when it requires TLS. */
  caFile?: string
  stop(): Promise<void>
}

/**
 * Start nats-server on 127.0.0.1 and a free port; it is killed with the runner. With `tls`, it
 * serves that certificate and refuses clients that do not upgrade to TLS.
 */
export async function startNatsServer(binary: string, tls?: SelfSignedCert): Promise<NatsServer> {
  const port = await freePort()
  const conf = path.join(os.tmpdir(), `agentmesh-bench-nats-${process.pid}${tls === undefined ? '' : '-tls'}.conf`)
  writeFileSync(
    conf,
    `listen: "127.0.0.1:${port}"\nmax_payload: 67108864\nmax_pending: 536870912\nwrite_deadline: "60s"\n` +
      (tls === undefined ? '' : `tls {\n  cert_file: "${tls.certFile}"\n  key_file: "${tls.keyFile}"\n}\n`)
  )
  const child: ChildProcess = spawn(binary, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
  track(child)
  const stderr: string[] = []
  child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()))
  try {
    await waitForPort(port, 10_000)
  } catch (err) {
    child.kill('SIGKILL')
    throw new Error(`${(err as Error).message}: ${stderr.join('').slice(-500)}`)
  } finally {
    rmSync(conf, { force: true }) // read at start-up, not needed afterwards
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    pid: child.pid ?? 0,
    ...(tls === undefined ? {} : { caFile: tls.certFile }),
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000)
      await exited
      clearTimeout(timer)
    }
  }
}

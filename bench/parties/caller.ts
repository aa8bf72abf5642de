// The caller party: the load generator. argv[0] names the driver (`agentmesh`, `libp2p-stream`,
// `libp2p-reuse`, `tcp`, `nats`, `grpc`, `a2a`); the runner sends it the target, then scenarios.
// Every loop is bounded by a count and a time limit.
import { num, serveParty, arg } from '../lib/party.ts'
import { quantile, round } from '../lib/stats.ts'
import type { BenchClient, SystemDriver } from '../clients/types.ts'

async function loadDriver(kind: string): Promise<SystemDriver> {
  switch (kind) {
    case 'agentmesh':
      return (await import('../clients/agentmesh.ts')).driver
    case 'libp2p-stream':
      return (await import('../clients/libp2p.ts')).perRequest
    case 'libp2p-reuse':
      return (await import('../clients/libp2p.ts')).reused
    case 'tcp':
      return (await import('../clients/tcp.ts')).driver
    case 'nats':
      return (await import('../clients/nats.ts')).driver
    case 'grpc':
      return (await import('../clients/grpc.ts')).driver
    case 'a2a':
      return (await import('../clients/a2a.ts')).driver
    default:
      throw new Error(`unknown driver ${kind}`)
  }
}

/** Run `workers` loops of echo calls until `ms` have passed; calls per second over the whole run. */
async function throughput(client: BenchClient, workers: number, ms: number, maxCalls: number) {
  let calls = 0
  let errors = 0
  let firstError: string | undefined
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const deadline = t0 + ms
  await Promise.all(
    Array.from({ length: workers }, async (_, lane) => {
      while (performance.now() < deadline && calls < maxCalls) {
        try {
          await client.echo(lane)
          calls++
        } catch (err) {
          errors++
          firstError ??= String(err)
          if (errors > 100) return
        }
      }
    })
  )
  const elapsed = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  return {
    callsPerSec: round((calls * 1000) / elapsed, 1),
    calls,
    errors,
    firstError,
    elapsedMs: round(elapsed, 1),
    callerCpuPct: round((100 * (cpu.user + cpu.system)) / 1000 / elapsed, 1)
  }
}

/** `n` sequential calls (at most `ms`), each timed. */
async function latency(client: BenchClient, n: number, ms: number) {
  const samples: number[] = []
  const deadline = performance.now() + ms
  for (let i = 0; i < n && performance.now() < deadline; i++) {
    const t = performance.now()
    await client.echo(0)
    samples.push(performance.now() - t)
  }
  return {
    n: samples.length,
    p50: round(quantile(samples, 0.5), 4),
    p99: round(quantile(samples, 0.99), 4),
    mean: round(samples.reduce((a, b) => a + b, 0) / samples.length, 4)
  }
}

/** `n` sequential calls (at most `ms`) whose result is `size` bytes. */
async function large(client: BenchClient, size: number, n: number, ms: number) {
  let bytes = 0
  let calls = 0
  const t0 = performance.now()
  const deadline = t0 + ms
  while (calls < n && (calls === 0 || performance.now() < deadline)) {
    const got = await client.blob(size)
    if (got !== size) throw new Error(`asked for ${size} bytes, got ${got}`)
    bytes += got
    calls++
  }
  const elapsed = performance.now() - t0
  return { calls, mbPerSec: round(bytes / 1e6 / (elapsed / 1000), 1), msPerCall: round(elapsed / calls, 2) }
}

await serveParty(async () => {
  const driver = await loadDriver(arg(0))
  let client: BenchClient | undefined
  let target: Record<string, unknown> = {}
  const need = (): BenchClient => {
    if (client === undefined) throw new Error('connect first')
    return client
  }
  return {
    info: { driver: arg(0) },
    party: {
      ops: {
        async connect(command) {
          target = (command.target ?? {}) as Record<string, unknown>
          client = await driver.connect(target)
          await client.echo(0)
          return { path: client.path() }
        },
        async warmup(command) {
          const c = need()
          await latency(c, 200, num(command, 'ms', 1000) / 2)
          return await throughput(c, 16, num(command, 'ms', 1000) / 2, 1e9)
        },
        latency: (command) => latency(need(), num(command, 'n', 1000), num(command, 'ms', 5000)),
        throughput: (command) =>
          throughput(
            need(),
            num(command, 'concurrency', 1),
            num(command, 'ms', 1000),
            num(command, 'maxCalls', 1e9)
          ),
        large: (command) =>
          large(need(), num(command, 'size', 1 << 20), num(command, 'n', 5), num(command, 'ms', 5000)),
        async cold(command) {
          if (driver.cold === undefined) return { samples: [] }
          const samples = []
          const deadline = performance.now() + num(command, 'ms', 10_000)
          // warm-up: the first cold calls of a process also compile the cold path's code
          for (let i = 0; i < num(command, 'warmup', 0) && performance.now() < deadline; i++) await driver.cold(target)
          for (let i = 0; i < num(command, 'reps', 5) && performance.now() < deadline; i++) {
            samples.push(await driver.cold(target))
          }
          return { samples }
        },
        path: () => ({ path: need().path() })
      },
      async stop() {
        await client?.close()
      }
    }
  }
})

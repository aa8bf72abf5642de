/** What the load generator needs from one system under test. */
export interface BenchClient {
  /** One small call (~100-byte args and result), checked. `lane` is the worker's index. */
  echo(lane: number): Promise<void>
  /** One call whose result is `size` bytes; resolves with the bytes received. */
  blob(size: number): Promise<number>
  /** How the calls travel, as seen after connecting (e.g. the connection's remote address). */
  path(): string
  close(): Promise<void>
}

/** Time to a first result from nothing: client start included (`totalMs`) and excluded (`firstMs`). */
export interface ColdSample {
  totalMs: number
  firstMs: number
}

/** A system: how to connect a client to the server parties described by `target`. */
export interface SystemDriver {
  connect(target: Record<string, unknown>): Promise<BenchClient>
  /** One cold call: a fresh client, its first result, then stop it. Absent when not meaningful. */
  cold?(target: Record<string, unknown>): Promise<ColdSample>
}

export function field(target: Record<string, unknown>, key: string): string {
  const value = target[key]
  if (typeof value !== 'string' && typeof value !== 'number') throw new Error(`target has no ${key}`)
  return String(value)
}

/**
 * The driver of a system whose cold call is "open a fresh client, make one small call, close it":
 * `totalMs` counts the client's start, `firstMs` only the first call.
 */
export function simpleDriver(open: (target: Record<string, unknown>) => Promise<BenchClient>): SystemDriver {
  return {
    connect: open,
    async cold(target) {
      const t0 = performance.now()
      const client = await open(target)
      const t1 = performance.now()
      try {
        await client.echo(0)
        const t2 = performance.now()
        return { totalMs: t2 - t0, firstMs: t2 - t1 }
      } finally {
        await client.close()
      }
    }
  }
}

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

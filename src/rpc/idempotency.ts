import type { Frame } from './frames.ts'

interface Entry {
  outcome: Promise<Frame>
  expires: number
}

/**
 * Remembers the outcome of calls made with an idempotency key, per caller and intent, for a window,
 * so that a retry gets the first outcome instead of running again. A retry that arrives while the
 * first call still runs waits for it. Bounded: the oldest keys are forgotten first.
 */
export class IdempotencyStore {
  private readonly entries = new Map<string, Entry>()
  private readonly windowMs: number
  private readonly maxKeys: number

  constructor(windowMs: number, maxKeys: number) {
    this.windowMs = windowMs
    this.maxKeys = maxKeys
  }

  /** The remembered outcome of `key`, if it is still in its window. */
  get(key: string, now = Date.now()): Promise<Frame> | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    if (entry.expires <= now) {
      this.entries.delete(key)
      return undefined
    }
    return entry.outcome
  }

  /** Remember the outcome of the first call with `key`. */
  set(key: string, outcome: Promise<Frame>, now = Date.now()): void {
    this.entries.delete(key)
    this.entries.set(key, { outcome, expires: now + this.windowMs })
    while (this.entries.size > this.maxKeys) {
      const oldest = this.entries.keys().next()
      if (oldest.done === true) break
      this.entries.delete(oldest.value)
    }
  }

  /** Number of keys remembered. */
  get size(): number {
    return this.entries.size
  }
}

/** The store key of a call: the caller, the intent and the caller's key, unambiguously joined. */
export function idempotencyKey(peer: string, cmd: string, key: string): string {
  return JSON.stringify([peer, cmd, key])
}

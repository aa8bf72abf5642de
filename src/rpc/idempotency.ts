import { createHash } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import type { Frame } from './frames.ts'

/** What a key remembers: the digest of the arguments it was first used with, and the handler's outcome. */
export interface IdempotentEntry {
  /** {@link argsDigestOf} the first call's arguments: a reuse of the key with other arguments is refused. */
  readonly digest: string
  /**
   * The handler's own outcome (its result or its error), whatever happened to the call that ran it;
   * `undefined` when that outcome is not to be remembered (the key is then forgotten and a retry runs
   * the intent again).
   */
  readonly outcome: Promise<Frame | undefined>
  readonly expires: number
}

/** The keys of one caller, oldest first. */
type CallerKeys = Map<string, IdempotentEntry>

/**
 * Remembers the outcome of calls made with an idempotency key, per caller, intent and key, for a
 * window, so that a retry gets the first outcome instead of running again.
 *
 * Bounded per caller and in callers, so that no caller can make another forget: each caller (PeerId)
 * has its own quota of keys and its oldest key is forgotten first when it makes one more; at most
 * `maxCallers` callers are tracked, and when one more caller comes, the caller that used a key least
 * recently is forgotten with all its keys. Filling the table of callers takes `maxCallers` identities
 * that each hold authority for some intent, and a caller that retries soon after its first attempt is
 * among the most recent ones.
 */
export class IdempotencyStore {
  /** Callers by PeerId, least recently used first. */
  private readonly callers = new Map<string, CallerKeys>()
  private readonly windowMs: number
  private readonly maxKeysPerCaller: number
  private readonly maxCallers: number

  constructor(windowMs: number, maxKeysPerCaller: number, maxCallers: number) {
    this.windowMs = windowMs
    this.maxKeysPerCaller = Math.max(1, maxKeysPerCaller)
    this.maxCallers = Math.max(1, maxCallers)
  }

  /** The remembered entry of `key` for `peer`, if it is still in its window. */
  get(peer: string, key: string, now = Date.now()): IdempotentEntry | undefined {
    const keys = this.callers.get(peer)
    const entry = keys?.get(key)
    if (keys === undefined || entry === undefined) return undefined
    if (entry.expires <= now) {
      keys.delete(key)
      if (keys.size === 0) this.callers.delete(peer)
      return undefined
    }
    return entry
  }

  /** Remember `outcome` as the first outcome of `key` for `peer`, with the digest of its arguments. */
  set(peer: string, key: string, digest: string, outcome: Promise<Frame | undefined>, now = Date.now()): IdempotentEntry {
    let keys = this.callers.get(peer)
    if (keys === undefined) {
      keys = new Map()
    } else {
      this.callers.delete(peer)
    }
    // most recently used caller last
    this.callers.set(peer, keys)
    while (this.callers.size > this.maxCallers) {
      const leastRecent = this.callers.keys().next()
      if (leastRecent.done === true) break
      this.callers.delete(leastRecent.value)
    }
    const entry: IdempotentEntry = { digest, outcome, expires: now + this.windowMs }
    keys.delete(key)
    keys.set(key, entry)
    while (keys.size > this.maxKeysPerCaller) {
      const oldest = keys.keys().next()
      if (oldest.done === true) break
      keys.delete(oldest.value)
    }
    return entry
  }

  /** Forget `key` of `peer`, if it still holds `entry` (a later call may have taken the key since). */
  forget(peer: string, key: string, entry: IdempotentEntry): void {
    const keys = this.callers.get(peer)
    if (keys?.get(key) !== entry) return
    keys.delete(key)
    if (keys.size === 0) this.callers.delete(peer)
  }

  /** Number of keys remembered, across callers. */
  get size(): number {
    let size = 0
    for (const keys of this.callers.values()) size += keys.size
    return size
  }

  /** Number of callers with keys remembered. */
  get callerCount(): number {
    return this.callers.size
  }

  /** Number of keys remembered for `peer`. */
  keysOf(peer: string): number {
    return this.callers.get(peer)?.size ?? 0
  }
}

/** The key of a call within its caller's keys: the intent and the caller's key, unambiguously joined. */
export function idempotencyKey(cmd: string, key: string): string {
  return JSON.stringify([cmd, key])
}

/** A digest of a call's arguments as they came over the wire (DAG-CBOR is deterministic). */
export function argsDigestOf(args: unknown): string {
  return createHash('sha256').update(dagCbor.encode(args)).digest('base64')
}

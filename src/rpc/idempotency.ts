import { createHash } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import { MeshError } from '../errors.ts'
import type { Frame } from './frames.ts'
import { andThen, type MaybePromise } from './maybe-promise.ts'
import type { RunningCall } from './running-call.ts'

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

/** An entry with the bytes its outcome holds (0 until the outcome is known). */
interface Held extends IdempotentEntry {
  bytes: number
}

/** The keys of one caller, oldest first, and the bytes their outcomes hold. */
interface CallerKeys {
  readonly keys: Map<string, Held>
  bytes: number
}

/** Limits of an {@link IdempotencyStore}. */
export interface IdempotencyLimits {
  /** Keys remembered per caller; its oldest is forgotten first. */
  keysPerCaller: number
  /** Callers tracked; the least recently active one is forgotten with all its keys. */
  callers: number
  /** Bytes of remembered outcomes per caller; its oldest keys are forgotten first beyond it. */
  bytesPerCaller: number
  /** Bytes of remembered outcomes in all; the least recently active callers' oldest keys go first. */
  bytes: number
}

/**
 * Remembers the outcome of calls made with an idempotency key, per caller, intent and key, for a
 * window, so that a retry gets the first outcome instead of running again.
 *
 * Bounded per caller and in callers, so that no caller can make another forget: each caller (PeerId)
 * has its own quota of keys and of bytes of remembered outcomes, and its oldest keys are forgotten
 * first when it goes past one; at most `callers` callers are tracked, and when one more caller comes,
 * the caller that used a key least recently is forgotten with all its keys. Past the bytes in all,
 * the least recently active callers' oldest keys are forgotten. Filling the table of callers takes
 * that many identities that each hold authority for some intent, and a caller that retries soon
 * after its first attempt is among the most recent ones.
 *
 * @example
 * ```ts
 * const store = new IdempotencyStore(600_000, { keysPerCaller: 1000, callers: 256, bytesPerCaller: 64 << 20, bytes: 256 << 20 })
 * store.set(peer, idempotencyKey('/charge', 'order-42'), argsDigestOf(args), outcome)
 * store.get(peer, idempotencyKey('/charge', 'order-42'))?.outcome // the first outcome, for a retry
 * ```
 */
export class IdempotencyStore {
  /** Callers by PeerId, least recently used first. */
  private readonly callers = new Map<string, CallerKeys>()
  private readonly windowMs: number
  private readonly limits: IdempotencyLimits
  private bytes = 0

  constructor(windowMs: number, limits: IdempotencyLimits) {
    this.windowMs = windowMs
    this.limits = {
      keysPerCaller: Math.max(1, limits.keysPerCaller),
      callers: Math.max(1, limits.callers),
      bytesPerCaller: Math.max(0, limits.bytesPerCaller),
      bytes: Math.max(0, limits.bytes)
    }
  }

  /** The remembered entry of `key` for `peer`, if it is still in its window. */
  get(peer: string, key: string, now = Date.now()): IdempotentEntry | undefined {
    const caller = this.callers.get(peer)
    const entry = caller?.keys.get(key)
    if (caller === undefined || entry === undefined) return undefined
    if (entry.expires <= now) {
      this.drop(peer, caller, key, entry)
      return undefined
    }
    return entry
  }

  /** Remember `outcome` as the first outcome of `key` for `peer`, with the digest of its arguments. */
  set(peer: string, key: string, digest: string, outcome: Promise<Frame | undefined>, now = Date.now()): IdempotentEntry {
    let caller = this.callers.get(peer)
    if (caller === undefined) {
      caller = { keys: new Map(), bytes: 0 }
    } else {
      this.callers.delete(peer)
    }
    // most recently used caller last
    this.callers.set(peer, caller)
    while (this.callers.size > this.limits.callers) {
      const leastRecent = this.callers.entries().next()
      if (leastRecent.done === true) break
      this.dropCaller(leastRecent.value[0], leastRecent.value[1])
    }
    const earlier = caller.keys.get(key)
    if (earlier !== undefined) this.drop(peer, caller, key, earlier)
    const entry: Held = { digest, outcome, expires: now + this.windowMs, bytes: 0 }
    caller.keys.set(key, entry)
    while (caller.keys.size > this.limits.keysPerCaller) {
      const oldest = caller.keys.entries().next()
      if (oldest.done === true) break
      this.drop(peer, caller, oldest.value[0], oldest.value[1])
    }
    outcome.then(
      (frame) => {
        if (frame === undefined) return
        let bytes: number
        try {
          bytes = frameBytes(frame)
        } catch {
          // not a value DAG-CBOR could carry (a cycle, say): its answer fails to encode; keep nothing
          this.forget(peer, key, entry)
          return
        }
        this.weigh(peer, key, entry, bytes)
      },
      () => {}
    )
    return entry
  }

  /** Forget `key` of `peer`, if it still holds `entry` (a later call may have taken the key since). */
  forget(peer: string, key: string, entry: IdempotentEntry): void {
    const caller = this.callers.get(peer)
    const held = caller?.keys.get(key)
    if (caller === undefined || held !== entry) return
    this.drop(peer, caller, key, held)
  }

  /** Number of keys remembered, across callers. */
  get size(): number {
    let size = 0
    for (const caller of this.callers.values()) size += caller.keys.size
    return size
  }

  /** Bytes of the outcomes remembered, across callers (as {@link frameBytes} counts them). */
  get heldBytes(): number {
    return this.bytes
  }

  /** Number of callers with keys remembered. */
  get callerCount(): number {
    return this.callers.size
  }

  /** Number of keys remembered for `peer`. */
  keysOf(peer: string): number {
    return this.callers.get(peer)?.keys.size ?? 0
  }

  /** The outcome of `entry` is known and holds `bytes`: count them, and forget keys past the budgets. */
  private weigh(peer: string, key: string, entry: Held, bytes: number): void {
    const caller = this.callers.get(peer)
    if (caller === undefined || caller.keys.get(key) !== entry) return
    entry.bytes = bytes
    caller.bytes += bytes
    this.bytes += bytes
    while (caller.bytes > this.limits.bytesPerCaller) {
      const oldest = caller.keys.entries().next()
      if (oldest.done === true) break
      this.drop(peer, caller, oldest.value[0], oldest.value[1])
    }
    for (const [other, keys] of this.callers) {
      if (this.bytes <= this.limits.bytes) break
      while (this.bytes > this.limits.bytes && keys.keys.size > 0) {
        const oldest = keys.keys.entries().next()
        if (oldest.done === true) break
        this.drop(other, keys, oldest.value[0], oldest.value[1])
      }
    }
  }

  private drop(peer: string, caller: CallerKeys, key: string, entry: Held): void {
    caller.keys.delete(key)
    caller.bytes -= entry.bytes
    this.bytes -= entry.bytes
    entry.bytes = 0
    if (caller.keys.size === 0 && this.callers.get(peer) === caller) this.callers.delete(peer)
  }

  private dropCaller(peer: string, caller: CallerKeys): void {
    this.bytes -= caller.bytes
    caller.bytes = 0
    caller.keys.clear()
    this.callers.delete(peer)
  }
}

/**
 * About the bytes `value` holds in memory, counted from its leaves: a byte array its length, a string
 * three bytes a character (its UTF-8 length at most), anything else a few bytes. Enough to bound what
 * remembered outcomes hold, without encoding them again.
 */
export function frameBytes(value: unknown): number {
  if (value instanceof Uint8Array) return value.byteLength
  if (typeof value === 'string') return 3 * value.length
  if (typeof value !== 'object' || value === null) return 9
  let bytes = 9
  if (Array.isArray(value)) {
    for (const item of value) bytes += frameBytes(item)
    return bytes
  }
  for (const [field, item] of Object.entries(value)) bytes += field.length + frameBytes(item)
  return bytes
}

/**
 * The answer of a call with an idempotency key: the outcome remembered for the key, or the
 * handler's (`run`), run now and remembered. What is remembered is the handler's own outcome, not how
 * the call that ran it ended: when that call hit its deadline or was cancelled while the handler went
 * on, a retry gets the handler's result. A retry that comes while the handler runs waits for it,
 * within its own deadline. An error the handler ends with after its call was stopped, and any
 * `CANCELLED` or `DEADLINE_EXCEEDED`, says nothing about the operation: it is not remembered, and a
 * retry (a waiting one too) runs the intent again. A key reused with other arguments is refused
 * with `INVALID_ARGUMENT`.
 *
 * `run(raced)` runs the handler, raced with the call's stop when `raced` is true.
 */
export function runIdempotent(
  store: IdempotencyStore,
  call: RunningCall,
  key: string,
  digest: string,
  id: number,
  run: (raced: boolean) => MaybePromise<Frame>
): MaybePromise<Frame> {
  const first = store.get(call.peer, key)
  if (first !== undefined) {
    if (first.digest !== digest) {
      throw new MeshError('INVALID_ARGUMENT', 'this idempotency key was used with other arguments', {
        details: { reason: 'IdempotencyKeyReused' }
      })
    }
    return andThen(call.race(first.outcome), (outcome) =>
      outcome === undefined ? runIdempotent(store, call, key, digest, id, run) : { ...outcome, id }
    )
  }
  const own = Promise.resolve(run(false))
  const entry = store.set(
    call.peer,
    key,
    digest,
    own.then((outcome) => {
      if (outcome.type !== 'err' || !(call.reason !== undefined || outcome.code === 'CANCELLED' || outcome.code === 'DEADLINE_EXCEEDED')) {
        return outcome
      }
      store.forget(call.peer, key, entry)
      return undefined
    })
  )
  return call.race(own)
}

/** The key of a call within its caller's keys: the intent and the caller's key, unambiguously joined. */
export function idempotencyKey(cmd: string, key: string): string {
  return JSON.stringify([cmd, key])
}

/** A digest of a call's arguments as they came over the wire (DAG-CBOR is deterministic). */
export function argsDigestOf(args: unknown): string {
  return createHash('sha256').update(dagCbor.encode(args)).digest('base64')
}

/**
 * What an agent lets callers make it hold in frames that have not arrived whole yet.
 *
 * A frame's length prefix comes first, and the body is buffered until it is complete. Nothing in a
 * frame is authorized before it is whole, so without a bound a caller holding no capability could
 * open streams and send on each all but the last byte of a 64 MiB frame, and the agent would keep
 * every byte. The budget bounds the bytes of incomplete frames per caller (PeerId) and across the
 * agent, and a stall clock ends a stream whose incomplete frame has had no byte for too long.
 */
import { MeshError } from '../errors.ts'

/** One stream's share: what its decoder holds of an incomplete frame. */
export interface HeldFrame {
  /** Bytes held now. */
  readonly bytes: number
  /** The error with which the budget ended the stream (over a limit, or stalled); undefined while it has not. */
  readonly ended: MeshError | undefined
  /**
   * Record that the stream's decoder holds `bytes` of an incomplete frame (0: none).
   *
   * @throws {MeshError} `RESOURCE_EXHAUSTED` when the bytes would take the caller or the agent over
   * its budget; the stream cannot be read further
   */
  hold(bytes: number): void
  /** Give the bytes back (the stream ended). */
  release(): void
}

/** Options of {@link FrameBudget}. */
export interface FrameBudgetInit {
  /** Bytes of incomplete frames one caller may make the agent hold, across its streams. */
  perCaller: number
  /** Bytes of incomplete frames all callers together may make the agent hold. */
  total: number
  /** How long an incomplete frame may go without a byte before its stream is ended, in ms. */
  stallMs: number
}

interface Holder {
  bytes: number
  ended: MeshError | undefined
  /** When a byte last arrived (or the stream was last paused by the agent itself), performance.now(). */
  last: number
  readonly peer: string
  readonly paused: () => boolean
  readonly onStall: (err: MeshError) => void
}

/**
 * The agent's budget for incomplete frames. Each inbound stream takes a {@link HeldFrame} and reports
 * what its decoder holds after each chunk; a stream at rest (every frame whole) costs nothing.
 *
 * @example
 * ```ts
 * const budget = new FrameBudget({ perCaller: 64 << 20, total: 256 << 20, stallMs: 30_000 })
 * const held = budget.open(peer, () => stream.readStatus === 'paused', (err) => stream.abort(err))
 * held.hold(decoderBytes) // throws RESOURCE_EXHAUSTED past a limit
 * held.release()          // when the stream ends
 * ```
 */
export class FrameBudget {
  private readonly init: FrameBudgetInit
  private total = 0
  private readonly perCaller = new Map<string, number>()
  /** Streams holding an incomplete frame now. */
  private readonly holding = new Set<Holder>()
  private sweep: ReturnType<typeof setInterval> | undefined

  constructor(init: FrameBudgetInit) {
    this.init = init
  }

  /** Bytes of incomplete frames held now, across the agent. */
  get heldBytes(): number {
    return this.total
  }

  /**
   * A share for one stream of `peer`. `paused` says whether the agent itself stopped reading the
   * stream (its clock does not run then); `onStall` is called once when the stream's incomplete
   * frame has had no byte for `stallMs`.
   */
  open(peer: string, paused: () => boolean, onStall: (err: MeshError) => void): HeldFrame {
    const holder: Holder = { bytes: 0, ended: undefined, last: 0, peer, paused, onStall }
    return {
      get bytes() {
        return holder.bytes
      },
      get ended() {
        return holder.ended
      },
      hold: (bytes) => this.hold(holder, bytes),
      release: () => this.hold(holder, 0, false)
    }
  }

  private hold(holder: Holder, bytes: number, check = true): void {
    const delta = bytes - holder.bytes
    if (delta !== 0) {
      const caller = (this.perCaller.get(holder.peer) ?? 0) + delta
      if (caller === 0) this.perCaller.delete(holder.peer)
      else this.perCaller.set(holder.peer, caller)
      this.total += delta
      holder.bytes = bytes
      if (check && delta > 0) {
        holder.ended = this.check(holder.peer, caller)
        if (holder.ended !== undefined) throw holder.ended
      }
    }
    if (bytes === 0) {
      // the sweep stops itself once it finds nothing held: frames that span chunks at high call
      // rates come and go faster than a timer should be made and cleared
      this.holding.delete(holder)
      return
    }
    holder.last = performance.now()
    this.holding.add(holder)
    this.startSweep()
  }

  private check(peer: string, caller: number): MeshError | undefined {
    if (caller > this.init.perCaller) {
      return new MeshError('RESOURCE_EXHAUSTED', `incomplete frames of this caller exceed ${this.init.perCaller} bytes`, {
        details: { limit: this.init.perCaller, held: caller, scope: 'caller', peer }
      })
    }
    if (this.total > this.init.total) {
      return new MeshError('RESOURCE_EXHAUSTED', `incomplete frames on this agent exceed ${this.init.total} bytes`, {
        details: { limit: this.init.total, held: this.total, scope: 'agent' }
      })
    }
    return undefined
  }

  private startSweep(): void {
    if (this.sweep !== undefined) return
    this.sweep = setInterval(() => this.findStalled(), Math.max(10, Math.floor(this.init.stallMs / 4)))
    this.sweep.unref()
  }

  private findStalled(): void {
    if (this.holding.size === 0) {
      clearInterval(this.sweep)
      this.sweep = undefined
      return
    }
    const now = performance.now()
    for (const holder of [...this.holding]) {
      if (holder.paused()) {
        holder.last = now
        continue
      }
      if (now - holder.last < this.init.stallMs) continue
      const bytes = holder.bytes
      this.hold(holder, 0, false)
      holder.ended = new MeshError('DEADLINE_EXCEEDED', `no byte of an incomplete frame for ${this.init.stallMs} ms`, {
        details: { held: bytes, stallMs: this.init.stallMs }
      })
      holder.onStall(holder.ended)
    }
  }
}

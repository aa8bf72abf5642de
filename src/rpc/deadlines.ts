/** Something with a deadline, in ms since the epoch. */
export interface Deadlined {
  readonly deadline: number
}

/**
 * One timer for many calls' deadlines. A timer per call (set, then cleared when the call ends) cost
 * every call two timer-list operations; here the timer is armed for the earliest deadline only, and
 * when it fires it expires every call that is due and re-arms for the next. Calls that end before
 * their deadline cost nothing: nothing is cleared. With equal timeouts, new calls come after the armed
 * one and the timer is not touched at all.
 *
 * The timer is unref'd: a pending deadline does not keep the process alive (the connection does).
 */
export class DeadlineTimer<T extends Deadlined> {
  private readonly pending: () => Iterable<T>
  private readonly expire: (entry: T) => void
  private timer: ReturnType<typeof setTimeout> | undefined
  private armedFor = Number.POSITIVE_INFINITY

  /**
   * @param pending - the entries still running (entries that ended must no longer be listed)
   * @param expire - called once for each entry whose deadline has passed
   */
  constructor(pending: () => Iterable<T>, expire: (entry: T) => void) {
    this.pending = pending
    this.expire = expire
  }

  /** Make sure the timer fires no later than `deadline` (call it for each new entry). */
  watch(deadline: number): void {
    if (deadline < this.armedFor) this.arm(deadline)
  }

  /** Stop the timer; `watch` arms it again. */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    this.armedFor = Number.POSITIVE_INFINITY
  }

  private arm(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.armedFor = at
    this.timer = setTimeout(() => this.fire(), Math.max(0, at - Date.now()))
    this.timer.unref?.()
  }

  private fire(): void {
    this.timer = undefined
    this.armedFor = Number.POSITIVE_INFINITY
    const now = Date.now()
    let next = Number.POSITIVE_INFINITY
    const due: T[] = []
    for (const entry of this.pending()) {
      if (entry.deadline <= now) due.push(entry)
      else if (entry.deadline < next) next = entry.deadline
    }
    if (next !== Number.POSITIVE_INFINITY) this.arm(next)
    for (const entry of due) this.expire(entry)
  }
}

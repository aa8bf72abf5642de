/** Per-key token buckets: `capacity` tokens, refilled at `capacity` per `periodMs`. Bounded in keys. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>()
  private readonly capacity: number
  private readonly periodMs: number
  private readonly maxKeys: number

  constructor(capacity: number, periodMs: number, maxKeys = 100_000) {
    this.capacity = capacity
    this.periodMs = periodMs
    this.maxKeys = maxKeys
  }

  /** Take one token for `key`; false when its bucket is empty. */
  take(key: string, now = Date.now()): boolean {
    let bucket = this.buckets.get(key)
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next()
        if (oldest.done !== true) this.buckets.delete(oldest.value)
      }
      bucket = { tokens: this.capacity, at: now }
      this.buckets.set(key, bucket)
    }
    bucket.tokens = Math.min(this.capacity, bucket.tokens + ((now - bucket.at) * this.capacity) / this.periodMs)
    bucket.at = now
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }
}

import type { Stream } from '@libp2p/interface'

/**
 * Coalesces the frames written to a stream in the same tick into one `send()`: under load, many
 * small frames become one yamux frame, one noise frame and one socket write instead of one each.
 * Honours backpressure: while the stream needs draining, frames wait in the batch.
 */
export class BatchWriter {
  private readonly stream: Stream
  private parts: Uint8Array[] = []
  private size = 0
  private scheduled = false
  private draining = false

  constructor(stream: Stream) {
    this.stream = stream
  }

  /** Queue `bytes`; they are sent with whatever else is queued before the next tick. */
  write(bytes: Uint8Array): void {
    this.parts.push(bytes)
    this.size += bytes.byteLength
    if (!this.scheduled && !this.draining) {
      this.scheduled = true
      queueMicrotask(() => this.flush())
    }
  }

  /** Resolves once the stream can take more (immediately unless it is draining). */
  async ready(options?: { signal?: AbortSignal }): Promise<void> {
    while (this.draining || this.size > 0) {
      if (this.stream.status !== 'open') return
      await this.stream.onDrain(options)
      if (!this.draining && this.size === 0) return
      await new Promise<void>((resolve) => queueMicrotask(resolve))
    }
  }

  /** Bytes waiting to be sent. */
  get pending(): number {
    return this.size
  }

  private flush(): void {
    this.scheduled = false
    if (this.parts.length === 0 || this.draining) return
    if (this.stream.status !== 'open' || this.stream.writeStatus !== 'writable') {
      this.parts = []
      this.size = 0
      return
    }
    let bytes: Uint8Array
    if (this.parts.length === 1) {
      bytes = this.parts[0]!
    } else {
      bytes = new Uint8Array(this.size)
      let at = 0
      for (const part of this.parts) {
        bytes.set(part, at)
        at += part.byteLength
      }
    }
    this.parts = []
    this.size = 0
    if (!this.stream.send(bytes)) {
      this.draining = true
      this.stream
        .onDrain()
        .catch(() => {})
        .finally(() => {
          this.draining = false
          if (this.parts.length > 0) this.flush()
        })
    }
  }
}

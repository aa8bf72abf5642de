import type { BatchWriter } from './batch-writer.ts'
import { MAX_ANSWER_BACKLOG_BYTES } from './constants.ts'
import type { Logger, Stream } from '@libp2p/interface'

/**
 * The agent's end of one RPC stream holding back a caller that does not take its answers: once more
 * than {@link MAX_ANSWER_BACKLOG_BYTES} of answers wait to be sent, reading stops (a paused stream
 * stops yamux window updates, so the caller cannot send more than its current window), and it starts
 * again when half of that has gone.
 *
 * libp2p's `resume()` first dispatches the requests that waited, then tells yamux to grant window
 * again. Requests that fill the backlog again must not pause the stream from inside it: the grant
 * that follows would undo the pause at yamux, the caller could send on while nothing reads, and the
 * stream's read buffer would overflow (4 MiB) and reset it with every call on it. The backlog is
 * checked again once `resume()` has returned.
 *
 * @example
 * ```ts
 * const holdBack = new CallerHoldBack(stream, writer, log)
 * // after each request taken from the stream:
 * holdBack.check()
 * ```
 */
export class CallerHoldBack {
  private readonly stream: Stream
  private readonly writer: BatchWriter
  private readonly log: Logger
  /** True while reading is paused for a caller that does not read its answers. */
  private paused = false
  /** True while `stream.resume()` runs: it dispatches what waited, then tells yamux to send again. */
  private resuming = false

  constructor(stream: Stream, writer: BatchWriter, log: Logger) {
    this.stream = stream
    this.writer = writer
    this.log = log
  }

  /** Stop reading the caller if its answers pile up; call after each request taken from the stream. */
  check(): void {
    // not from inside resume(): see the class
    if (this.writer.backlog > MAX_ANSWER_BACKLOG_BYTES && !this.paused && !this.resuming) this.hold()
  }

  private hold(): void {
    const { stream, writer } = this
    // a caller that has ended its requests (its last ones were just handed over) sends nothing more
    if (stream.readStatus !== 'readable') return
    this.log('caller on %s is not reading its answers (%d bytes waiting): pausing its requests', stream.id, writer.backlog)
    this.paused = true
    stream.pause()
    writer
      .backlogAtMost(MAX_ANSWER_BACKLOG_BYTES / 2)
      .catch(() => {
        // the stream closed or failed: reading ends on its own
      })
      .then(() => {
        this.paused = false
        if (stream.status !== 'open' || stream.readStatus !== 'paused') return
        this.resuming = true
        try {
          stream.resume()
        } finally {
          this.resuming = false
        }
        if (writer.backlog > MAX_ANSWER_BACKLOG_BYTES && stream.status === 'open') this.hold()
      })
      .catch((err: unknown) => {
        // resume() sends a window update: the connection under the stream may be failing
        stream.abort(err instanceof Error ? err : new Error(String(err)))
      })
  }
}

import type { AbortOptions } from '@libp2p/interface'
import { MeshError } from '../errors.ts'

/** The parts of a libp2p 3 message stream (a yamux stream, say) that a splice uses. */
export interface SpliceableStream {
  /** `open` or `closing` while the stream may still carry data; `closed`, `aborted` or `reset` after. */
  readonly status: string
  readonly writeStatus: string
  readonly remoteWriteStatus: string
  readonly readBuffer: { byteLength: number }
  send(data: Uint8Array | { byteLength: number; subarray(): Uint8Array }): boolean
  pause(): void
  resume(): void
  close(options?: AbortOptions): Promise<void>
  abort(err: Error): void
  addEventListener(type: string, listener: (evt: never) => void, options?: { once?: boolean }): void
  removeEventListener(type: string, listener: (evt: never) => void): void
}

/** Options of {@link spliceStreams}. */
export interface SpliceOptions {
  /** Any of these aborting aborts both streams (a relay's shutdown, a reservation's end, a duration limit). */
  signals?: AbortSignal[]
  /** Bytes the two directions may carry together before both streams are aborted; unlimited when absent. */
  dataLimit?: bigint
}

interface MessageEvent {
  data: { byteLength: number }
}

interface CloseEvent {
  error?: Error
}

/**
 * Join two message streams: what arrives on one is sent on the other, in both directions, until
 * both have closed. Each message is sent as it arrives, from the stream's own message event.
 *
 * Backpressure is kept end to end: when the other stream's write buffer is full, the arriving stream
 * is paused until the other drains, and a paused yamux stream stops granting its sender more window,
 * so a relay holds at most a window of either side's data. A half-close (the remote closed its
 * writing end) is passed on as a close of the other's writing end once everything that arrived before
 * it has been sent on (the stream's `end` event); an error or a reset on either side aborts the
 * other, and so does a side that ends without its remote closing it (its transport closed under it)
 * or that closes while the other still has data for it or waits for it to drain. Streams that ended before the splice began end the splice at once.
 *
 * The promise resolves when both streams have closed cleanly and rejects with the error that ended
 * them otherwise.
 *
 * @example
 * ```ts
 * import { spliceStreams } from './stream-splice.ts'
 *
 * await spliceStreams(hopStream, stopStream, { dataLimit: 1n << 20n })
 * ```
 */
export function spliceStreams(a: SpliceableStream, b: SpliceableStream, options: SpliceOptions = {}): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let remaining = options.dataLimit
    let closed = 0
    let done = false
    const undo: Array<() => void> = []
    const on = <E>(stream: SpliceableStream, type: string, listener: (evt: E) => void, once = false): void => {
      const handler = listener as (evt: never) => void
      stream.addEventListener(type, handler, once ? { once } : undefined)
      undo.push(() => stream.removeEventListener(type, handler))
    }
    const finish = (err?: Error): void => {
      if (done) return
      done = true
      for (const off of undo) off()
      for (const signal of options.signals ?? []) signal.removeEventListener('abort', onAbort)
      if (err === undefined) resolve()
      else reject(err)
    }
    const fail = (err: unknown): void => {
      if (done) return
      const error = err instanceof Error ? err : new MeshError('INTERNAL', String(err))
      // first stop listening: an aborted stream emits `end` and `close`, which are ours, not news
      finish(error)
      a.abort(error)
      b.abort(error)
    }
    const reasonOf = (signal: AbortSignal): Error =>
      signal.reason instanceof Error ? signal.reason : new MeshError('CANCELLED', 'relayed circuit ended')
    const onAbort = (evt: Event): void => fail(reasonOf(evt.target as AbortSignal))

    /** Per direction: the source is paused until its destination drains. */
    const waiting = new Set<SpliceableStream>()
    const live = (stream: SpliceableStream): boolean => stream.status === 'open' || stream.status === 'closing'
    const cutOff = (): MeshError => new MeshError('UNAVAILABLE', 'a side of the relayed circuit closed without ending its stream')
    const closeWrite = (stream: SpliceableStream): void => {
      if (stream.writeStatus === 'writable') stream.close().catch(fail)
    }

    const forward = (from: SpliceableStream, to: SpliceableStream): void => {
      // resume() hands over what waited in the paused source, then tells its transport to send again
      // (yamux grants the window anew). A destination that is full again after that data must not
      // pause the source from inside resume(): the library's "send again" that follows would undo
      // the pause at the transport, which then grants windows to a stream nobody reads until its
      // read buffer overflows (4 MiB) and the relay cuts the circuit. The pause waits for resume().
      let resuming = false
      let pauseAfterResume = false
      const pause = (): void => {
        waiting.add(from)
        from.pause()
        to.addEventListener('drain', onDrain, { once: true })
      }
      const onDrain = (): void => {
        waiting.delete(from)
        resuming = true
        try {
          from.resume()
        } finally {
          resuming = false
        }
        if (pauseAfterResume) {
          pauseAfterResume = false
          if (live(from) && live(to)) pause()
        }
      }
      on<MessageEvent>(from, 'message', (evt) => {
        const data = evt.data as Parameters<SpliceableStream['send']>[0]
        if (remaining !== undefined) {
          remaining -= BigInt(data.byteLength)
          if (remaining < 0n) {
            fail(new MeshError('RESOURCE_EXHAUSTED', `relayed data limit of ${options.dataLimit} bytes exceeded`))
            return
          }
        }
        let more: boolean
        try {
          more = to.send(data)
        } catch (err) {
          fail(err)
          return
        }
        if (!more && !waiting.has(from)) {
          if (resuming) pauseAfterResume = true
          else pause()
        }
      })
      undo.push(() => to.removeEventListener('drain', onDrain))
      // The remote closed its writing end (a FIN for this stream): the only clean end of a side. A
      // stream also emits `end` when it is reset or aborted, and when its transport closes under it
      // (a peer that went away, a muxer that closed): that end is not the remote's, and passing it
      // on as a half-close would make a cut-off circuit look complete.
      // (the splice begins only with live sides: a closed writing end there is the remote's own)
      let finished = from.remoteWriteStatus === 'closed'
      on(from, 'remoteCloseWrite', () => {
        finished = true
      }, true)
      // everything that arrived before the remote closed its writing end has been sent on
      on(from, 'end', () => {
        if (finished) closeWrite(to)
        else fail(cutOff())
      }, true)
      on<CloseEvent>(from, 'close', (evt) => {
        if (evt.error !== undefined) {
          finish(evt.error)
          to.abort(evt.error)
          return
        }
        if (!finished) {
          fail(cutOff())
        } else if (++closed === 2) {
          finish()
        } else if (live(to) && (waiting.has(to) || to.readBuffer.byteLength > 0)) {
          // `to` holds data for a stream that is gone
          fail(new MeshError('UNAVAILABLE', 'the other side of the relayed circuit closed'))
        } else {
          closeWrite(to)
        }
      }, true)
    }

    for (const signal of options.signals ?? []) {
      if (signal.aborted) {
        fail(reasonOf(signal))
        return
      }
      signal.addEventListener('abort', onAbort, { once: true })
    }
    if (!live(a) || !live(b)) {
      // one side ended while the circuit was being set up: its events have been and gone
      fail(new MeshError('UNAVAILABLE', 'a side of the relayed circuit ended before it was joined'))
      return
    }
    forward(a, b)
    forward(b, a)
    // a remote that closed its writing end with nothing left to deliver has had its `end` already
    for (const [from, to] of [[a, b], [b, a]] as const) {
      if (from.remoteWriteStatus === 'closed' && from.readBuffer.byteLength === 0) closeWrite(to)
    }
  })
}

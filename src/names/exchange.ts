import { pipe } from 'it-pipe'
import { MeshError } from '../errors.ts'
import { decodeMessages } from '../rpc/codec.ts'
import type { AbortOptions, Stream } from '@libp2p/interface'

/**
 * Read the first length-prefixed message of `stream`, or fail if it ends first. When
 * `options.signal` aborts first, the stream is aborted (a silent peer keeps no stream open) and the
 * read fails with `DEADLINE_EXCEEDED`.
 *
 * @throws {MeshError} `UNAVAILABLE` when the stream ends first, `DEADLINE_EXCEEDED` when the signal aborts
 */
export async function readMessage(stream: Stream, maxBytes: number, options: AbortOptions = {}): Promise<unknown> {
  const { signal } = options
  const aborted = (): boolean => signal?.aborted === true
  const timedOut = (): MeshError => new MeshError('DEADLINE_EXCEEDED', 'no message arrived in time')
  if (aborted()) {
    stream.abort(timedOut())
    throw timedOut()
  }
  const onAbort = (): void => stream.abort(timedOut())
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    for await (const value of pipe(stream, decodeMessages({ maxBytes }))) return value
  } catch (err) {
    if (aborted()) throw timedOut()
    throw err
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
  if (aborted()) throw timedOut()
  throw new MeshError('UNAVAILABLE', 'the stream ended before a message arrived')
}

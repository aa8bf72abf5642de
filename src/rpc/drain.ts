import type { AbortOptions, Stream } from '@libp2p/interface'
import { MeshError } from '../errors.ts'

/**
 * Resolves once `stream` can take more data: at once when it does not need draining, else at its next
 * `drain` event. Rejects when the stream closes first or `options.signal` aborts.
 *
 * Not `stream.onDrain()`: in `@libp2p/utils` 7 that keeps the promise of the first drain and hands it
 * back, already resolved, to every later wait, so a long-lived stream waited for nothing after its
 * first drain and an agent whose caller stopped reading kept queueing answers without bound.
 */
export async function drained(stream: Stream, options: AbortOptions = {}): Promise<void> {
  options.signal?.throwIfAborted()
  if (!stream.writableNeedsDrain) return
  if (stream.status !== 'open') throw new MeshError('UNAVAILABLE', 'the stream closed')
  await new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('close', onClose)
      options.signal?.removeEventListener('abort', onAbort)
    }
    const onDrain = (): void => {
      cleanup()
      resolve()
    }
    const onClose = (): void => {
      cleanup()
      reject(new MeshError('UNAVAILABLE', 'the stream closed'))
    }
    const onAbort = (): void => {
      cleanup()
      reject(options.signal?.reason as Error)
    }
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
    options.signal?.addEventListener('abort', onAbort)
  })
}

/**
 * A call whose progress events the caller reads with `for await`, and whose result is a promise.
 *
 * @example
 * ```ts
 * const call = orchestrator.stream('acme/prod/k8s', rollout, { deployment: 'web' })
 * for await (const event of call) showProgress(event)
 * const result = await call.result
 * ```
 */
export interface CallStream<Progress, Result> extends AsyncIterable<Progress> {
  /** The call's result; rejects with the call's MeshError. */
  readonly result: Promise<Result>
}

/**
 * Wrap a call started by `start(onProgress)` as a {@link CallStream}. Events are buffered until read;
 * iteration ends when the call succeeds and throws when it fails.
 */
export function toCallStream<Progress, Result>(
  start: (onProgress: (data: unknown) => void) => Promise<unknown>
): CallStream<Progress, Result> {
  const queue: Progress[] = []
  let wake: (() => void) | undefined
  let settled = false
  const result = start((data) => {
    queue.push(data as Progress)
    wake?.()
  }).finally(() => {
    settled = true
    wake?.()
  }) as Promise<Result>
  result.catch(() => {}) // the caller sees the failure through `result` or the iterator
  return {
    result,
    async *[Symbol.asyncIterator]() {
      while (true) {
        const next = queue.shift()
        if (next !== undefined) {
          yield next
          continue
        }
        if (settled) {
          await result
          return
        }
        await new Promise<void>((resolve) => {
          wake = resolve
        })
        wake = undefined
      }
    }
  }
}

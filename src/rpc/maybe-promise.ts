/**
 * Steps that are usually synchronous (a schema check, a cached authorization, a handler that returns
 * a value) but may return a promise. Chaining them with `await` costs a promise and microtask turns
 * per step on every call; these helpers stay synchronous until a step actually returns a promise.
 */

/** A value, or a promise of it. */
export type MaybePromise<T> = T | PromiseLike<T>

/** True when `value` is a promise or any other thenable (as `await` and `Promise.resolve` see it). */
export function isThenable<T>(value: MaybePromise<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function'
}

/**
 * `next(value)` at once when `value` is not a thenable, else once it resolves. A synchronous throw
 * of `next` is thrown synchronously; the caller catches both kinds.
 */
export function andThen<T, U>(value: MaybePromise<T>, next: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return isThenable(value) ? Promise.resolve(value).then(next) : next(value)
}

import { pipe } from 'it-pipe'
import { MeshError } from '../errors.ts'
import { newStreamEarly } from '../net/early-select.ts'
import { decodeMessages } from '../rpc/codec.ts'
import {
  DIRECTORY_PROTOCOL,
  DIRECTORY_TIMEOUT_MS,
  DIRECTORY_VERSION,
  MAX_DIRECTORY_MESSAGE_BYTES,
  MAX_LIST_RESULTS
} from './constants.ts'
import { writeMessage } from '../rpc/codec.ts'
import { readMessage } from './exchange.ts'
import { type DirectoryAnswer, type DirectoryRequest, parseAnswer, type WatchEvent } from './messages.ts'
import type { SignedNameRecord } from './record.ts'
import { assertName } from './syntax.ts'
import type { AbortOptions, Connection, Stream } from '@libp2p/interface'

async function openDirectory(connection: Connection, signal: AbortSignal): Promise<Stream> {
  try {
    // the proposal leaves with the request: no round trip before it
    return await newStreamEarly(connection, DIRECTORY_PROTOCOL, { signal, runOnLimitedConnection: true })
  } catch (err) {
    throw new MeshError('UNAVAILABLE', `the directory cannot be reached: ${(err as Error).message}`, { cause: err })
  }
}

async function exchange(
  connection: Connection,
  request: DirectoryRequest,
  options: AbortOptions = {}
): Promise<DirectoryAnswer> {
  const signal = AbortSignal.any([AbortSignal.timeout(DIRECTORY_TIMEOUT_MS), ...(options.signal ? [options.signal] : [])])
  const stream = await openDirectory(connection, signal)
  const onAbort = (): void => stream.abort(new MeshError('DEADLINE_EXCEEDED', 'directory exchange timed out'))
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    await writeMessage(stream, request, { signal })
    const answer = parseAnswer(await readMessage(stream, MAX_DIRECTORY_MESSAGE_BYTES * 16, { signal }))
    await stream.close({ signal }).catch(() => {})
    if (answer.type === 'err') throw new MeshError(answer.code, answer.message)
    return answer
  } catch (err) {
    stream.abort(err as Error)
    if (signal.aborted && !(options.signal?.aborted ?? false)) {
      throw new MeshError('DEADLINE_EXCEEDED', 'the directory did not answer in time')
    }
    throw MeshError.from(err, 'UNAVAILABLE')
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/**
 * Register a signed record at the directory of the relay at the other end of `connection`.
 *
 * @returns the record's expiry (ms since the epoch), as the relay stored it
 */
export async function registerRecord(
  connection: Connection,
  record: SignedNameRecord,
  options?: AbortOptions
): Promise<number> {
  const answer = await exchange(connection, { v: DIRECTORY_VERSION, type: 'register', record }, options)
  if (answer.type !== 'registered') throw new MeshError('INTERNAL', 'the directory answered a registration oddly')
  return answer.exp
}

/** Ask a relay's directory for the signed record of `name`. Unverified: pass it to `verifyNameRecord`. */
export async function lookupRecord(connection: Connection, name: string, options?: AbortOptions): Promise<unknown> {
  assertName(name)
  const answer = await exchange(connection, { v: DIRECTORY_VERSION, type: 'resolve', name }, options)
  if (answer.type !== 'record') throw new MeshError('INVALID_ARGUMENT', 'the directory answered a lookup oddly')
  return answer.record
}

/** Ask a relay's directory for the signed records under `prefix`. Unverified. */
export async function listRecords(
  connection: Connection,
  prefix: string,
  options: AbortOptions & { limit?: number } = {}
): Promise<unknown[]> {
  const answer = await exchange(
    connection,
    { v: DIRECTORY_VERSION, type: 'list', prefix, limit: options.limit ?? MAX_LIST_RESULTS },
    options
  )
  if (answer.type !== 'list') throw new MeshError('INVALID_ARGUMENT', 'the directory answered a list oddly')
  return answer.records
}

/**
 * Watch the names under `prefix` at a relay: `onEvent` gets each change and expiry until `signal`
 * aborts or the relay goes away (the promise then settles). Event records are unverified.
 */
export async function watchNames(
  connection: Connection,
  prefix: string,
  onEvent: (event: { kind: 'update' | 'expire'; name: string; record?: SignedNameRecord }) => void,
  options: AbortOptions = {}
): Promise<void> {
  const stream = await openDirectory(connection, options.signal ?? AbortSignal.timeout(DIRECTORY_TIMEOUT_MS))
  const onAbort = (): void => stream.abort(new MeshError('CANCELLED', 'watch cancelled'))
  options.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    await writeMessage(stream, { v: DIRECTORY_VERSION, type: 'watch', prefix })
    for await (const value of pipe(stream, decodeMessages({ maxBytes: MAX_DIRECTORY_MESSAGE_BYTES }))) {
      const event = parseAnswer(value)
      if (event.type === 'err') throw new MeshError(event.code, event.message)
      if (event.type !== 'event') continue
      const { kind, name, record } = event as WatchEvent
      onEvent(record === undefined ? { kind, name } : { kind, name, record })
    }
  } catch (err) {
    if (options.signal?.aborted === true) return
    throw MeshError.from(err, 'UNAVAILABLE')
  } finally {
    options.signal?.removeEventListener('abort', onAbort)
  }
}

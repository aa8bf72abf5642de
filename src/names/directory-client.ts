import { MeshError } from '../errors.ts'
import {
  DIRECTORY_PROTOCOL,
  DIRECTORY_TIMEOUT_MS,
  DIRECTORY_VERSION,
  MAX_DIRECTORY_MESSAGE_BYTES
} from './constants.ts'
import { readMessage, writeMessage } from './exchange.ts'
import { type DirectoryAnswer, type DirectoryRequest, type NameRecord, parseAnswer } from './messages.ts'
import { assertName } from './syntax.ts'
import type { AbortOptions, Connection } from '@libp2p/interface'

async function exchange(
  connection: Connection,
  request: DirectoryRequest,
  options: AbortOptions = {}
): Promise<DirectoryAnswer> {
  const signal = AbortSignal.any([
    AbortSignal.timeout(DIRECTORY_TIMEOUT_MS),
    ...(options.signal ? [options.signal] : [])
  ])
  let stream: Awaited<ReturnType<Connection['newStream']>>
  try {
    stream = await connection.newStream(DIRECTORY_PROTOCOL, { signal, runOnLimitedConnection: true })
  } catch (err) {
    throw new MeshError('UNAVAILABLE', `the directory cannot be reached: ${(err as Error).message}`, {
      cause: err
    })
  }
  const onAbort = (): void => stream.abort(new MeshError('DEADLINE_EXCEEDED', 'directory exchange timed out'))
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    await writeMessage(stream, request, { signal })
    const answer = parseAnswer(await readMessage(stream, MAX_DIRECTORY_MESSAGE_BYTES))
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
 * Register `name` at the directory of the relay at the other end of `connection`.
 *
 * @returns the registration's expiry, in ms since the epoch
 */
export async function registerName(
  connection: Connection,
  name: string,
  addrs: string[],
  ttl: number,
  options?: AbortOptions
): Promise<number> {
  assertName(name)
  const answer = await exchange(
    connection,
    { v: DIRECTORY_VERSION, type: 'register', name, addrs, ttl },
    options
  )
  if (answer.type !== 'registered')
    throw new MeshError('INTERNAL', 'the directory answered a registration oddly')
  return answer.exp
}

/** Ask the directory of the relay at the other end of `connection` where `name` is. */
export async function lookupName(
  connection: Connection,
  name: string,
  options?: AbortOptions
): Promise<NameRecord> {
  assertName(name)
  const answer = await exchange(connection, { v: DIRECTORY_VERSION, type: 'resolve', name }, options)
  if (answer.type !== 'record') throw new MeshError('INTERNAL', 'the directory answered a lookup oddly')
  if (answer.record.name !== name) throw new MeshError('NOT_FOUND', `the directory answered for another name`)
  return answer.record
}

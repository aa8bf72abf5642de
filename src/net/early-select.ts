import type { AbortOptions, Connection, Libp2p, Stream } from '@libp2p/interface'
import { MeshError } from '../errors.ts'
import { varintLength, writeVarint } from '../rpc/varint.ts'
import { DEFAULT_MAX_OUTBOUND_STREAMS, MAX_PROTOCOL_ANSWER_BYTES, MULTISTREAM_PROTOCOL_ID } from './constants.ts'

/** Options of {@link newStreamEarly}. */
export interface EarlyStreamOptions extends AbortOptions {
  /**
   * Outbound streams of this protocol the connection may hold at once, as libp2p's
   * `maxOutboundStreams` (which `connection.newStream` enforces and this must enforce itself).
   *
   * @default DEFAULT_MAX_OUTBOUND_STREAMS
   */
  maxOutboundStreams?: number
  /**
   * Open the stream on a limited (relayed, with limits) connection too, as libp2p's option.
   *
   * @default false
   */
  runOnLimitedConnection?: boolean
}

type NewStream = Connection['newStream']

/** The parts of libp2p's connection and stream muxer that an early stream needs. */
interface MuxedConnection {
  muxer?: {
    status?: string
    createStream?: (options: Record<string, unknown>) => Promise<Stream> | Stream
  }
  status?: string
  limits?: unknown
}

/** The parts of `@libp2p/utils`' AbstractMessageStream that an early stream needs. */
interface EarlyStream {
  protocol: string
  writeBuffer: { append(data: Uint8Array): void }
  onData(data: Uint8Array | { subarray(): Uint8Array; byteLength: number }): void
  abort(err: Error): void
}

function isEarlyStream(value: unknown): value is EarlyStream {
  const s = value as Partial<EarlyStream> | undefined
  return typeof s?.onData === 'function' && typeof s.abort === 'function' && typeof s.writeBuffer?.append === 'function'
}

/** `lines` as multistream-select messages: each a varint length, then the line and a newline. */
function proposal(...lines: string[]): Uint8Array {
  const encoded = lines.map((l) => new TextEncoder().encode(`${l}\n`))
  const out = new Uint8Array(encoded.reduce((n, e) => n + varintLength(e.byteLength) + e.byteLength, 0))
  let at = 0
  for (const e of encoded) {
    at = writeVarint(out, at, e.byteLength)
    out.set(e, at)
    at += e.byteLength
  }
  return out
}

const proposals = new Map<string, Uint8Array>()

/**
 * The next multistream-select message in `bytes` from `at`: its text (without the newline) and where
 * the next one starts; undefined while it is incomplete.
 *
 * @throws {MeshError} `UNAVAILABLE` when the bytes are not a multistream-select message
 */
function readLine(bytes: Uint8Array, at: number): { line: string; next: number } | undefined {
  let length = 0
  let i = at
  for (let shift = 0; ; shift += 7) {
    if (i >= bytes.byteLength) return undefined
    const b = bytes[i++]!
    length += (b & 0x7f) * 2 ** shift
    if (b < 0x80) break
    if (shift >= 7) throw new MeshError('UNAVAILABLE', 'the peer answered the protocol proposal with a malformed message')
  }
  if (length === 0 || length > MAX_PROTOCOL_ANSWER_BYTES) {
    throw new MeshError('UNAVAILABLE', `the peer answered the protocol proposal with a message of ${length} bytes`)
  }
  if (i + length > bytes.byteLength) return undefined
  if (bytes[i + length - 1] !== 0x0a) throw new MeshError('UNAVAILABLE', 'the peer answered the protocol proposal without a newline')
  return { line: new TextDecoder().decode(bytes.subarray(i, i + length - 1)), next: i + length }
}

/**
 * Open a stream for `protocol` and send the multistream-select proposal in front of the first bytes
 * written to it, without waiting for the peer's answer first.
 *
 * libp2p 3 always waits one round trip for the answer before `newStream` returns (libp2p 2 had
 * `negotiateFully: false` for this); on a relayed connection that round trip crosses the relay twice,
 * and on a cold call it came twice (directory lookup, first call). Here the answer is checked when it
 * arrives and before any byte reaches the stream's readers: a peer that does not speak `protocol`
 * ("na"), or answers anything else, has the stream aborted with `UNAVAILABLE`, which its readers see.
 * The proposal leaves with the first `send()`, so the stream must be written to first (requests are).
 *
 * Where the connection or its streams are not of the shape this relies on (libp2p's `Connection`
 * with a stream muxer, `@libp2p/utils` streams), it is `connection.newStream` as before.
 *
 * @example
 * ```ts
 * const stream = await newStreamEarly(connection, '/agentmesh/rpc/1', { signal })
 * stream.send(request) // the proposal and the request leave together
 * ```
 */
export async function newStreamEarly(
  connection: Connection,
  protocol: string,
  options: EarlyStreamOptions = {},
  fallback: NewStream = connection.newStream
): Promise<Stream> {
  const { maxOutboundStreams = DEFAULT_MAX_OUTBOUND_STREAMS, ...abortOptions } = options
  const muxed = connection as unknown as MuxedConnection
  const muxer = muxed.muxer
  if (
    typeof muxer?.createStream !== 'function' ||
    muxer.status !== 'open' ||
    connection.status !== 'open' ||
    // libp2p's own refusal, with its error
    (muxed.limits !== undefined && muxed.limits !== null && options.runOnLimitedConnection !== true)
  ) {
    return await fallback(protocol, { ...abortOptions, maxOutboundStreams })
  }
  abortOptions.signal?.throwIfAborted()
  let open = 0
  for (const s of connection.streams) if (s.direction === 'outbound' && s.protocol === protocol) open++
  if (open >= maxOutboundStreams) {
    throw new MeshError('RESOURCE_EXHAUSTED', `${open} outbound ${protocol} streams are open on this connection, the most allowed`)
  }
  const stream = await muxer.createStream({ ...abortOptions, protocol })
  if (!isEarlyStream(stream)) {
    stream.abort(new MeshError('INTERNAL', 'stream of an unexpected shape'))
    return await fallback(protocol, { ...abortOptions, maxOutboundStreams })
  }
  stream.protocol = protocol
  let bytes = proposals.get(protocol)
  if (bytes === undefined) {
    bytes = proposal(MULTISTREAM_PROTOCOL_ID, protocol)
    proposals.set(protocol, bytes)
  }
  stream.writeBuffer.append(bytes)
  checkAnswer(stream, protocol)
  return stream as unknown as Stream
}

/** Hold back what the peer sends until its answer to the proposal has been read and is a yes. */
function checkAnswer(stream: EarlyStream, protocol: string): void {
  const deliver = stream.onData
  let held = new Uint8Array(0)
  stream.onData = function (data) {
    const chunk = data instanceof Uint8Array ? data : data.subarray()
    const joined = new Uint8Array(held.byteLength + chunk.byteLength)
    joined.set(held, 0)
    joined.set(chunk, held.byteLength)
    try {
      const header = readLine(joined, 0)
      const answer = header === undefined ? undefined : readLine(joined, header.next)
      if (header !== undefined && header.line !== MULTISTREAM_PROTOCOL_ID) {
        throw new MeshError('UNAVAILABLE', `the peer does not speak multistream-select (${header.line.slice(0, 40)})`)
      }
      if (answer === undefined) {
        // at most two messages of MAX_PROTOCOL_ANSWER_BYTES each are ever held
        held = joined
        return
      }
      if (answer.line !== protocol) {
        throw new MeshError('UNAVAILABLE', `the peer does not speak ${protocol}`, { details: { answer: answer.line.slice(0, 40) } })
      }
      // the answer was yes: from now on the stream's own delivery, starting with what came after it
      delete (stream as Partial<EarlyStream>).onData
      if (stream.onData !== deliver) stream.onData = deliver
      if (answer.next < joined.byteLength) stream.onData(joined.subarray(answer.next))
    } catch (err) {
      held = new Uint8Array(0)
      stream.onData = () => {}
      stream.abort(err as Error)
    }
  }
}

/**
 * Make every connection of `node` open streams of `protocols` with {@link newStreamEarly}, for the
 * streams libp2p's own services open: circuit relay's hop stream (a caller's dial and an agent's
 * reservation) and the relay's stop stream to the agent, each written to at once. A cold call
 * through a relay crossed each of them with a round trip of its own. Other protocols, and calls with
 * several protocols, go to libp2p's `newStream` unchanged.
 *
 * @example
 * ```ts
 * openEarly(node, [RELAY_V2_HOP_CODEC, RELAY_V2_STOP_CODEC])
 * ```
 */
export function openEarly(node: Pick<Libp2p, 'addEventListener' | 'getConnections'>, protocols: string[]): void {
  const early = new Set(protocols)
  const wrap = (connection: Connection): void => {
    const original = connection.newStream
    if ((original as { early?: boolean }).early === true) return
    const newStream: NewStream = async (wanted, options = {}) => {
      const list = Array.isArray(wanted) ? wanted : [wanted]
      if (list.length !== 1 || !early.has(list[0]!)) return await original(wanted, options)
      return await newStreamEarly(connection, list[0]!, options, original)
    }
    Object.assign(newStream, { early: true })
    connection.newStream = newStream
  }
  for (const connection of node.getConnections()) wrap(connection)
  node.addEventListener('connection:open', (evt) => wrap(evt.detail))
}

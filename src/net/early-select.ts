import { type AbortOptions, type Connection, type Libp2p, type Stream, TooManyOutboundProtocolStreamsError } from '@libp2p/interface'
import { MeshError } from '../errors.ts'
import { varintLength, writeVarint } from '../rpc/varint.ts'
import { DEFAULT_MAX_OUTBOUND_STREAMS, MULTISTREAM_PROTOCOL_ID, PROTOCOL_ANSWER_TIMEOUT_MS } from './constants.ts'

/** Options of {@link newStreamEarly}. */
export interface EarlyStreamOptions extends AbortOptions {
  /**
   * Outbound streams of this protocol the connection may hold at once, as the `maxOutboundStreams`
   * option of libp2p's `newStream` (enforced here the same way: the stream is counted, then refused
   * with `TooManyOutboundProtocolStreamsError` when there are more). A limit registered with a
   * handler of the protocol is not consulted: pass it.
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
  /**
   * How long to wait for the peer's answer to the proposal before aborting the stream, in ms.
   *
   * @default PROTOCOL_ANSWER_TIMEOUT_MS
   */
  answerTimeoutMs?: number
}

type NewStream = Connection['newStream']

/** The parts of libp2p's connection and stream muxer that an early stream needs. */
interface MuxedConnection {
  muxer?: {
    status?: string
    createStream?: (options: Record<string, unknown>) => Promise<Stream> | Stream
  }
  limits?: unknown
}

/** The parts of `@libp2p/utils`' AbstractMessageStream that an early stream needs. */
interface EarlyStream {
  protocol: string
  writeStatus: string
  writeBuffer: { append(data: Uint8Array): void }
  readBuffer: { byteLength: number; subarray(): Uint8Array; consume(bytes: number): void }
  onData(data: Uint8Array | { subarray(): Uint8Array; byteLength: number }): void
  processSendQueue(): boolean
  abort(err: Error): void
  addEventListener(type: string, listener: () => void, options?: { once?: boolean }): void
  removeEventListener(type: string, listener: () => void): void
}

function isEarlyStream(value: unknown): value is EarlyStream {
  const s = value as Partial<EarlyStream> | undefined
  return (
    typeof s?.onData === 'function' &&
    typeof s.abort === 'function' &&
    typeof s.processSendQueue === 'function' &&
    typeof s.addEventListener === 'function' &&
    typeof s.writeBuffer?.append === 'function' &&
    typeof s.readBuffer?.consume === 'function'
  )
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
 * Open a stream for `protocol` and send the multistream-select proposal in front of the first bytes
 * written to it, without waiting for the peer's answer first.
 *
 * libp2p 3 always waits one round trip for the answer before `newStream` returns (libp2p 2 had
 * `negotiateFully: false` for this); on a relayed connection that round trip crosses the relay twice,
 * and on a cold call it came twice (directory lookup, first call). Here the answer is checked when it
 * arrives and before any byte reaches the stream's readers: a peer that does not speak `protocol`
 * ("na"), or answers anything else, has the stream aborted with `UNAVAILABLE` at the first byte that
 * differs from a yes, which its readers see.
 * The proposal leaves with the first `send()` of this turn of the event loop, or alone at its end
 * when nothing was sent. An answer that has not come within `answerTimeoutMs`, or a peer closing
 * first, aborts the stream as well.
 *
 * Unlike `connection.newStream`, it does not record the protocol in the peer store, run registrar
 * middleware (`node.use`), track the stream in libp2p's metrics, or report `onProgress` events.
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
  const { maxOutboundStreams = DEFAULT_MAX_OUTBOUND_STREAMS, answerTimeoutMs = PROTOCOL_ANSWER_TIMEOUT_MS, ...abortOptions } = options
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
  const stream = await muxer.createStream({ ...abortOptions, protocol })
  if (!isEarlyStream(stream)) {
    stream.abort(new MeshError('INTERNAL', 'stream of an unexpected shape'))
    return await fallback(protocol, { ...abortOptions, maxOutboundStreams })
  }
  // counted with its protocol set, as libp2p counts: streams opened in the same turn see each other
  stream.protocol = protocol
  let open = 0
  for (const s of connection.streams) if (s.direction === 'outbound' && s.protocol === protocol) open++
  if (open > maxOutboundStreams) {
    const err = new TooManyOutboundProtocolStreamsError(`Too many outbound protocol streams for protocol "${protocol}" - ${open}/${maxOutboundStreams}`)
    stream.abort(err)
    throw err
  }
  proposeEarly(stream, protocol, answerTimeoutMs)
  return stream as unknown as Stream
}

/**
 * Queue the multistream-select proposal of `protocol` in front of whatever is sent next on `stream`,
 * and hold back what the peer sends until its answer has been read and is a yes (else the stream is
 * aborted with `UNAVAILABLE`, as it is when no answer comes within `answerTimeoutMs` or the peer
 * closes first). Returns false, doing nothing, for a stream not of the expected shape.
 */
export function proposeEarly(stream: unknown, protocol: string, answerTimeoutMs = PROTOCOL_ANSWER_TIMEOUT_MS): boolean {
  if (!isEarlyStream(stream)) return false
  let bytes = proposals.get(protocol)
  if (bytes === undefined) {
    bytes = proposal(MULTISTREAM_PROTOCOL_ID, protocol)
    proposals.set(protocol, bytes)
  }
  stream.writeBuffer.append(bytes)
  checkAnswer(stream, protocol, bytes, answerTimeoutMs)
  // nothing sent in this turn (a stream only read, or closed at once): the proposal goes alone
  setImmediate(() => {
    if (stream.writeStatus === 'writable' || stream.writeStatus === 'closing') stream.processSendQueue()
  })
  return true
}

/** The header line, as the proposal (and a yes) starts: a length byte and `/multistream/1.0.0\n`. */
const HEADER_BYTES = 1 + MULTISTREAM_PROTOCOL_ID.length + 1
/** The first byte of a "na" answer: its length (`na\n`). */
const NA_LENGTH = 3

/**
 * Hold back what the peer sends until its answer to the proposal has been read and is a yes. A yes
 * is the proposal itself, byte for byte (the header, then the protocol), so each byte is compared as
 * it comes: the first one that differs ends the stream, without waiting for a length it declares.
 * Bytes the stream had already received (a listener may send its header first) are checked first.
 */
function checkAnswer(stream: EarlyStream, protocol: string, expected: Uint8Array, timeoutMs: number): void {
  const deliver = stream.onData
  let held = new Uint8Array(0)
  let settled = false
  const settle = (err?: MeshError): void => {
    if (settled) return
    settled = true
    clearTimeout(timer)
    stream.removeEventListener('remoteCloseWrite', onRemoteClose)
    stream.removeEventListener('close', onClose)
    held = new Uint8Array(0)
    if (err === undefined) return
    stream.onData = () => {}
    stream.abort(err)
  }
  const timer = setTimeout(() => {
    settle(new MeshError('UNAVAILABLE', `the peer did not answer the proposal of ${protocol} within ${timeoutMs} ms`))
  }, timeoutMs)
  timer.unref?.()
  const onRemoteClose = (): void => settle(new MeshError('UNAVAILABLE', `the peer closed the stream before it answered the proposal of ${protocol}`))
  const onClose = (): void => settle()
  stream.addEventListener('remoteCloseWrite', onRemoteClose, { once: true })
  stream.addEventListener('close', onClose, { once: true })
  stream.onData = function (data) {
    if (settled) return
    const chunk = data instanceof Uint8Array ? data : data.subarray()
    const joined = new Uint8Array(held.byteLength + chunk.byteLength)
    joined.set(held, 0)
    joined.set(chunk, held.byteLength)
    let same = 0
    const n = Math.min(joined.byteLength, expected.byteLength)
    while (same < n && joined[same] === expected[same]) same++
    if (same < n) {
      settle(
        same < HEADER_BYTES
          ? new MeshError('UNAVAILABLE', 'the peer did not answer in multistream-select')
          : joined[HEADER_BYTES] === NA_LENGTH
            ? new MeshError('UNAVAILABLE', `the peer does not speak ${protocol}`)
            : new MeshError('UNAVAILABLE', `the peer answered the proposal of ${protocol} with another protocol`)
      )
      return
    }
    if (joined.byteLength < expected.byteLength) {
      // at most the proposal's length is ever held
      held = joined
      return
    }
    // the answer was yes: from now on the stream's own delivery, starting with what came after it
    settle()
    delete (stream as Partial<EarlyStream>).onData
    if (stream.onData !== deliver) stream.onData = deliver
    if (expected.byteLength < joined.byteLength) stream.onData(joined.subarray(expected.byteLength))
  }
  if (stream.readBuffer.byteLength > 0) {
    const early = stream.readBuffer.subarray()
    stream.readBuffer.consume(early.byteLength)
    stream.onData(early)
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

import { YamuxStream } from '@chainsafe/libp2p-yamux/stream'
import { AbstractMessageStream } from '@libp2p/utils'
import { FIRST_TURN_MAX_BYTES } from './constants.ts'

/** The parts of `@libp2p/utils`' AbstractMessageStream (streams and connections) gathering uses. */
interface GatheringStream {
  direction: string
  writeStatus: string
  writableNeedsDrain: boolean
  writeBuffer: { byteLength: number; append(data: Uint8Array | { byteLength: number }): void }
  processSendQueue(): boolean
  send(data: Uint8Array | { byteLength: number }): boolean
  abort(err: Error): void
}

type Send = GatheringStream['send']

/** Streams and connections gathering their first turn's writes, until that turn's end. */
const gathering = new WeakSet<GatheringStream>()
/** Streams and connections whose first write has been made (gathered or not). */
const wroteFirst = new WeakSet<GatheringStream>()

function flush(stream: GatheringStream): void {
  gathering.delete(stream)
  try {
    stream.processSendQueue()
  } catch (err) {
    // the layer below refused the write (its connection is closing, say): as when a send throws in
    // the library's own deferred send, the stream fails, not the process
    stream.abort(err as Error)
  }
}

/**
 * `send` of an inbound stream or connection: what it writes in the turn of the event loop of its
 * first write is gathered in its write buffer and handed to the layer below at the end of that turn,
 * as one message. Every other write goes to `send` as before.
 */
function gather(stream: GatheringStream, data: Uint8Array | { byteLength: number }, send: Send): boolean {
  const writable = stream.writeStatus === 'writable' && !stream.writableNeedsDrain
  if (gathering.has(stream)) {
    if (writable && stream.writeBuffer.byteLength + data.byteLength <= FIRST_TURN_MAX_BYTES) {
      stream.writeBuffer.append(data)
      return true
    }
    // too much for one message, or closed meanwhile: the library takes it from here, in order
    gathering.delete(stream)
    return send.call(stream, data)
  }
  if (stream.direction !== 'inbound' || wroteFirst.has(stream)) return send.call(stream, data)
  wroteFirst.add(stream)
  if (!writable || stream.writeBuffer.byteLength !== 0 || data.byteLength > FIRST_TURN_MAX_BYTES) return send.call(stream, data)
  gathering.add(stream)
  stream.writeBuffer.append(data)
  setImmediate(flush, stream)
  return true
}

let tuned = false

/**
 * Send what a new inbound stream writes in its first turn of the event loop as one message.
 *
 * A peer that opens a stream sends the protocol proposal with its first message; the side that
 * accepts answers with two multistream-select lines, each its own write, and the handler's first
 * answer follows in the same turn: three yamux frames, three noise messages and three socket writes
 * where one carries the same bytes. The same holds for a new inbound connection, whose answer to the
 * proposal of noise comes just before noise's second handshake message. The first writes of an
 * inbound yamux stream, and of every inbound connection given to {@link gatherFirstTurn}, wait in
 * the stream's own write buffer until the end of the turn (`setImmediate`), in order, with the
 * library's backpressure and close handling; at most {@link FIRST_TURN_MAX_BYTES} bytes wait.
 * Later writes go at once, as before.
 *
 * Applied once per process; a no-op when the classes do not have the expected shape.
 */
export function gatherFirstTurnOfInboundStreams(): boolean {
  if (tuned) return true
  const proto = YamuxStream.prototype as unknown as GatheringStream
  const base = AbstractMessageStream.prototype as unknown as Partial<GatheringStream>
  if (typeof base.send !== 'function' || typeof base.processSendQueue !== 'function' || Object.hasOwn(proto, 'send')) return false
  proto.send = function (this: GatheringStream, data) {
    // the message stream's send as it is now (other tunings replace it on the base class)
    return gather(this, data, (AbstractMessageStream.prototype as unknown as GatheringStream).send)
  }
  tuned = true
  return true
}

/** Gather the first turn's writes of one inbound connection (see {@link gatherFirstTurnOfInboundStreams}). */
export function gatherFirstTurn(connection: unknown): void {
  const c = connection as Partial<GatheringStream> | undefined
  if (
    typeof c?.send !== 'function' ||
    typeof c.processSendQueue !== 'function' ||
    typeof c.abort !== 'function' ||
    c.direction !== 'inbound' ||
    c.writeBuffer === undefined
  ) {
    return
  }
  const stream = c as GatheringStream
  const send = stream.send
  stream.send = (data) => gather(stream, data, send)
}

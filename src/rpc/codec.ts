/**
 * Length-prefixed DAG-CBOR messages: the byte layer shared by agentmesh protocols.
 *
 * A message is `varint(length) || dag-cbor(value)`. The decoder is an `it-pipe` transform from a
 * libp2p stream's chunks to decoded values; it never buffers more than one message and refuses a
 * length over its limit before reading the body.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { MeshError } from '../errors.ts'
import { MAX_FRAME_BYTES, MAX_PREFIX_BYTES } from './constants.ts'
import { drained } from './drain.ts'
import { encodeMessageFast } from './fast-cbor.ts'
import { decodeFast, NOT_FAST } from './fast-cbor-decode.ts'
import { varintLength, writeVarint } from './varint.ts'
import type { HeldFrame } from './frame-budget.ts'
import type { AbortOptions, Stream } from '@libp2p/interface'

/** A chunk as a libp2p stream yields it: a Uint8Array or a Uint8ArrayList (which has `subarray()`). */
export type Chunk = Uint8Array | { subarray(): Uint8Array }

/** Options of {@link decodeMessages}. */
export interface DecodeOptions {
  /**
   * Largest message body accepted, in bytes.
   *
   * @default MAX_FRAME_BYTES
   */
  maxBytes?: number
}

/** Options of {@link readMessages}. */
export interface ReadOptions extends DecodeOptions {
  /** Told the bytes of an incomplete message held after each chunk; a throw ends the reading with it. */
  held?: HeldFrame
  /** Ends the reading with the signal's reason. */
  signal?: AbortSignal
}

/** Encode `value` as one length-prefixed DAG-CBOR message. */
export function encodeMessage(value: unknown): Uint8Array {
  const fast = encodeMessageFast(value)
  if (fast !== undefined) return fast
  let body: Uint8Array
  try {
    body = dagCbor.encode(value)
  } catch (err) {
    throw new MeshError(
      'INVALID_ARGUMENT',
      `value cannot be encoded as DAG-CBOR: ${(err as Error).message}`,
      {
        cause: err
      }
    )
  }
  const out = new Uint8Array(varintLength(body.byteLength) + body.byteLength)
  out.set(body, writeVarint(out, 0, body.byteLength))
  return out
}

/**
 * Write `value` as one length-prefixed DAG-CBOR message on `stream`, waiting for the stream to drain
 * first when its buffer is full, and after when the message filled it.
 */
export async function writeMessage(stream: Stream, value: unknown, options?: AbortOptions): Promise<void> {
  await drained(stream, options)
  if (!stream.send(encodeMessage(value))) await drained(stream, options)
}

/** What {@link MessageDecoder.next} returns while the buffered bytes hold no whole message. */
export const NEED_MORE: unique symbol = Symbol('need-more')

/**
 * Cuts a byte stream into length-prefixed DAG-CBOR messages and decodes them: push chunks as they
 * arrive, then take messages with {@link MessageDecoder.next} until it answers {@link NEED_MORE}. It
 * buffers at most one message and refuses a length over `maxBytes` before reading the body.
 *
 * @example
 * ```ts
 * const decoder = new MessageDecoder(1024)
 * decoder.push(chunk)
 * for (let value = decoder.next(); value !== NEED_MORE; value = decoder.next()) handle(value)
 * ```
 */
export class MessageDecoder {
  private readonly buffer = new ChunkBuffer()
  private readonly maxBytes: number
  private want = -1

  constructor(maxBytes: number = MAX_FRAME_BYTES) {
    this.maxBytes = maxBytes
  }

  push(chunk: Chunk): void {
    this.buffer.push(chunk instanceof Uint8Array ? chunk : chunk.subarray())
  }

  /**
   * The next decoded message, or {@link NEED_MORE}.
   *
   * @throws {MeshError} `RESOURCE_EXHAUSTED` for a length over the limit, `INVALID_ARGUMENT` for a bad
   * prefix or a body that is not DAG-CBOR; the byte stream cannot be read further after either
   */
  next(): unknown {
    if (this.want < 0) {
      this.want = readPrefix(this.buffer, this.maxBytes)
      if (this.want < 0) return NEED_MORE
    }
    if (this.buffer.length < this.want) return NEED_MORE
    const body = this.buffer.take(this.want)
    this.want = -1
    return decodeBody(body)
  }

  /** True when bytes of an incomplete message are buffered (a stream that ends now was cut short). */
  get partial(): boolean {
    return this.want >= 0 || this.buffer.length > 0
  }

  /** Bytes buffered of an incomplete message (its prefix included, while it is being read). */
  get buffered(): number {
    return this.buffer.length
  }

  /** Drop what is buffered (the stream ended): the bytes are not kept for as long as the decoder is. */
  clear(): void {
    this.buffer.clear()
    this.want = -1
  }
}

/**
 * An `it-pipe` transform: chunks in, decoded DAG-CBOR values out.
 *
 * Errors are typed: `RESOURCE_EXHAUSTED` for a length over `maxBytes`, `INVALID_ARGUMENT` for a bad
 * prefix, a body that is not DAG-CBOR, or a stream that ends inside a message.
 *
 * @example
 * ```ts
 * for await (const value of pipe(stream, decodeMessages({ maxBytes: 1024 }))) handle(value)
 * ```
 */
export function decodeMessages(options: DecodeOptions = {}) {
  const maxBytes = options.maxBytes ?? MAX_FRAME_BYTES
  return async function* (source: AsyncIterable<Chunk>): AsyncGenerator<unknown, void, undefined> {
    const decoder = new MessageDecoder(maxBytes)
    for await (const chunk of source) {
      decoder.push(chunk)
      for (let value = decoder.next(); value !== NEED_MORE; value = decoder.next()) yield value
    }
    if (decoder.partial) throw new MeshError('INVALID_ARGUMENT', 'stream ended inside a message')
  }
}

/**
 * Read `stream`'s messages as they arrive: `onMessage` is called synchronously for each one, in the
 * stream's own `message` event. Resolves when the remote end closes its writable side (or the stream
 * closes cleanly) after its last message; rejects with a typed error for bytes that are not messages
 * (see {@link MessageDecoder.next}), a stream that ends inside a message, a stream that fails, or an
 * exception of `onMessage`, a throw of `options.held` (a budget for incomplete messages) or the
 * abort of `options.signal`, with its reason. Listeners are removed and `held` released either way.
 *
 * The long-lived call streams read this way: an async iterator over the stream and a transform over
 * that cost promises and microtask turns per message on both ends of every call.
 */
export function readMessages(stream: Stream, onMessage: (value: unknown) => void, options: ReadOptions = {}): Promise<void> {
  const decoder = new MessageDecoder(options.maxBytes ?? MAX_FRAME_BYTES)
  const { held, signal } = options
  return new Promise<void>((resolve, reject) => {
    let ending = false
    let settled = false
    const settle = (err?: unknown): void => {
      if (settled) return
      settled = true
      stream.removeEventListener('message', onData)
      stream.removeEventListener('remoteCloseWrite', onEnd)
      stream.removeEventListener('close', onClose)
      signal?.removeEventListener('abort', onAbort)
      held?.release()
      const cut = decoder.partial
      decoder.clear()
      if (err !== undefined) reject(err)
      else if (cut) reject(new MeshError('INVALID_ARGUMENT', 'stream ended inside a message'))
      else resolve()
    }
    const onData = (evt: { data: Chunk }): void => {
      try {
        decoder.push(evt.data)
        for (let value = decoder.next(); value !== NEED_MORE && !settled; value = decoder.next()) onMessage(value)
        // at rest (every message whole, none held before) this costs one comparison
        if (held !== undefined && !settled && (decoder.buffered !== 0 || held.bytes !== 0)) held.hold(decoder.buffered)
      } catch (err) {
        settle(err)
        return
      }
      if (ending && stream.readBufferLength === 0) settle()
    }
    // the remote is done writing: end once what it wrote has been read (a paused stream still holds some)
    const onEnd = (): void => {
      ending = true
      if (stream.readBufferLength === 0) settle()
    }
    const onClose = (evt: Event): void => {
      settle((evt as Event & { error?: Error }).error)
    }
    const onAbort = (): void => {
      settle(signal?.reason ?? new MeshError('CANCELLED', 'reading was stopped'))
    }
    if (signal?.aborted === true) {
      onAbort()
      return
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    stream.addEventListener('message', onData)
    stream.addEventListener('remoteCloseWrite', onEnd)
    stream.addEventListener('close', onClose)
    if (stream.status !== 'open' && stream.status !== 'closing') settle()
    // closed for writing before we listened: what it buffered is dispatched first (in a microtask), then end
    else if (stream.remoteWriteStatus === 'closed') queueMicrotask(onEnd)
  })
}

function decodeBody(body: Uint8Array): unknown {
  const fast = decodeFast(body)
  if (fast !== NOT_FAST) return fast
  try {
    return dagCbor.decode(body)
  } catch (err) {
    throw new MeshError('INVALID_ARGUMENT', 'message is not valid DAG-CBOR', { cause: err })
  }
}

/** Read a varint prefix if the buffer holds a whole one; -1 when more bytes are needed. */
function readPrefix(buffer: ChunkBuffer, maxBytes: number): number {
  let value = 0
  let scale = 1
  for (let i = 0; i < MAX_PREFIX_BYTES; i++) {
    const byte = buffer.peek(i)
    if (byte === undefined) return -1
    value += (byte & 0x7f) * scale
    scale *= 0x80
    if ((byte & 0x80) === 0) {
      if (i > 0 && byte === 0) throw new MeshError('INVALID_ARGUMENT', 'non-minimal length prefix')
      if (value > maxBytes) {
        throw new MeshError(
          'RESOURCE_EXHAUSTED',
          `message of ${value} bytes exceeds the limit of ${maxBytes}`,
          {
            details: { limit: maxBytes, size: value }
          }
        )
      }
      buffer.skip(i + 1)
      return value
    }
  }
  throw new MeshError('INVALID_ARGUMENT', 'length prefix too long')
}

/** A queue of byte chunks that copies only when a message spans chunks. */
class ChunkBuffer {
  private chunks: Uint8Array[] = []
  private offset = 0
  length = 0

  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return
    this.chunks.push(chunk)
    this.length += chunk.byteLength
  }

  clear(): void {
    this.chunks = []
    this.offset = 0
    this.length = 0
  }

  peek(index: number): number | undefined {
    let i = index + this.offset
    for (const chunk of this.chunks) {
      if (i < chunk.byteLength) return chunk[i]
      i -= chunk.byteLength
    }
    return undefined
  }

  skip(n: number): void {
    this.take(n)
  }

  take(n: number): Uint8Array {
    const first = this.chunks[0]
    if (first !== undefined && first.byteLength - this.offset >= n) {
      const out = first.subarray(this.offset, this.offset + n)
      this.advance(n)
      return out
    }
    const out = new Uint8Array(n)
    let filled = 0
    while (filled < n) {
      const chunk = this.chunks[0]
      if (chunk === undefined) throw new Error('ChunkBuffer underflow')
      const part = chunk.subarray(this.offset, this.offset + (n - filled))
      out.set(part, filled)
      filled += part.byteLength
      this.advance(part.byteLength)
    }
    return out
  }

  private advance(n: number): void {
    this.length -= n
    this.offset += n
    while (this.chunks.length > 0 && this.offset >= (this.chunks[0]?.byteLength ?? 0)) {
      this.offset -= this.chunks[0]?.byteLength ?? 0
      this.chunks.shift()
    }
  }
}

// The byte protocol of the floors (raw TCP echo and the raw libp2p stream `/bench/echo/1`):
// every message is `u32be(length) || body`. A request body starts with an op byte: OP_ECHO answers
// the rest of the body, OP_BLOB answers `u32be(size)` zero bytes.

/** The raw libp2p protocol the agent party serves next to agentmesh's own. */
export const RAW_PROTOCOL = '/bench/echo/1'

export const OP_ECHO = 0
export const OP_BLOB = 1

/** Intent arguments and result of the small scenarios: about 100 bytes on every wire. */
export const SMALL_OBJECT = { text: 'x'.repeat(90) }
/** The same payload as bytes, for the systems that carry bytes (JSON of SMALL_OBJECT). */
export const SMALL_BYTES = new TextEncoder().encode(JSON.stringify(SMALL_OBJECT))

export type Chunk = Uint8Array | { subarray(): Uint8Array }

/** One length-prefixed message. */
export function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.byteLength)
  new DataView(out.buffer).setUint32(0, body.byteLength)
  out.set(body, 4)
  return out
}

/** A request: op byte then body. */
export function request(op: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + body.byteLength)
  new DataView(out.buffer).setUint32(0, body.byteLength + 1)
  out[4] = op
  out.set(body, 5)
  return out
}

/** A blob request asking for `size` bytes. */
export function blobRequest(size: number): Uint8Array {
  const body = new Uint8Array(4)
  new DataView(body.buffer).setUint32(0, size)
  return request(OP_BLOB, body)
}

/** Accumulates chunks and cuts them into messages; copies only when a message spans chunks. */
export class FrameReader {
  private chunks: Uint8Array[] = []
  private length = 0

  push(chunk: Chunk): void {
    const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
    if (bytes.byteLength === 0) return
    this.chunks.push(bytes)
    this.length += bytes.byteLength
  }

  /** The next whole message body, or undefined when more bytes are needed. */
  next(): Uint8Array | undefined {
    if (this.length < 4) return undefined
    const head = this.peek(4)
    const size = new DataView(head.buffer, head.byteOffset, 4).getUint32(0)
    if (this.length < 4 + size) return undefined
    this.take(4)
    return this.take(size)
  }

  private peek(n: number): Uint8Array {
    const first = this.chunks[0]!
    if (first.byteLength >= n) return first.subarray(0, n)
    const out = new Uint8Array(n)
    let filled = 0
    for (const chunk of this.chunks) {
      const part = chunk.subarray(0, n - filled)
      out.set(part, filled)
      filled += part.byteLength
      if (filled === n) break
    }
    return out
  }

  private take(n: number): Uint8Array {
    this.length -= n
    const first = this.chunks[0]
    if (first !== undefined && first.byteLength >= n) {
      if (first.byteLength === n) this.chunks.shift()
      else this.chunks[0] = first.subarray(n)
      return first.subarray(0, n)
    }
    const out = new Uint8Array(n)
    let filled = 0
    while (filled < n) {
      const chunk = this.chunks[0]!
      const want = n - filled
      if (chunk.byteLength <= want) {
        out.set(chunk, filled)
        filled += chunk.byteLength
        this.chunks.shift()
      } else {
        out.set(chunk.subarray(0, want), filled)
        this.chunks[0] = chunk.subarray(want)
        filled += want
      }
    }
    return out
  }
}

const blobs = new Map<number, Uint8Array>()

/** A zero-filled buffer of `size` bytes, allocated once per size. */
export function blob(size: number): Uint8Array {
  let b = blobs.get(size)
  if (b === undefined) {
    b = new Uint8Array(size)
    blobs.set(size, b)
  }
  return b
}

/**
 * The answer to a request body (op byte then data): one length-prefixed message when small, the
 * prefix and the data apart when large (so a 64 MiB blob is never copied).
 */
export function answer(body: Uint8Array): Uint8Array[] {
  if (body[0] !== OP_BLOB) return [frame(body.subarray(1))]
  const data = blob(new DataView(body.buffer, body.byteOffset + 1, 4).getUint32(0))
  const prefix = new Uint8Array(4)
  new DataView(prefix.buffer).setUint32(0, data.byteLength)
  return [prefix, data]
}

/** Reads whole messages from an async iterable of chunks (a libp2p stream, a socket). */
export class MessageReader {
  private readonly reader = new FrameReader()
  private readonly source: AsyncIterator<Chunk>

  constructor(source: AsyncIterable<Chunk>) {
    this.source = source[Symbol.asyncIterator]()
  }

  async read(): Promise<Uint8Array> {
    while (true) {
      const message = this.reader.next()
      if (message !== undefined) return message
      const { value, done } = await this.source.next()
      if (done === true) throw new Error('the stream ended before a whole message')
      this.reader.push(value)
    }
  }
}

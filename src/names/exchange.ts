import { pipe } from 'it-pipe'
import { MeshError } from '../errors.ts'
import { type Chunk, decodeMessages, encodeMessage } from '../rpc/codec.ts'
import type { AbortOptions, Stream } from '@libp2p/interface'

/** Read the first length-prefixed message of `stream`, or fail if it ends first. */
export async function readMessage(stream: AsyncIterable<Chunk>, maxBytes: number): Promise<unknown> {
  for await (const value of pipe(stream, decodeMessages({ maxBytes }))) return value
  throw new MeshError('UNAVAILABLE', 'the stream ended before a message arrived')
}

/** Write one length-prefixed message, waiting for the stream to drain when its buffer is full. */
export async function writeMessage(stream: Stream, value: unknown, options?: AbortOptions): Promise<void> {
  if (!stream.send(encodeMessage(value))) await stream.onDrain(options)
}

import { pipe } from 'it-pipe'
import { MeshError } from '../errors.ts'
import { type Chunk, decodeMessages } from '../rpc/codec.ts'

/** Read the first length-prefixed message of `stream`, or fail if it ends first. */
export async function readMessage(stream: AsyncIterable<Chunk>, maxBytes: number): Promise<unknown> {
  for await (const value of pipe(stream, decodeMessages({ maxBytes }))) return value
  throw new MeshError('UNAVAILABLE', 'the stream ended before a message arrived')
}

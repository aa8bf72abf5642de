import { noise } from '@chainsafe/libp2p-noise'
import { MeshError } from '../errors.ts'

type NoiseFactory = ReturnType<typeof noise>
type NoiseEncrypter = ReturnType<NoiseFactory>
type Secured = Awaited<ReturnType<NoiseEncrypter['secureOutbound']>>

/** The parts of `@libp2p/utils`' LengthPrefixedDecoder (as noise 17 sets it up) that are used here. */
interface FrameDecoder {
  buffer: {
    byteLength: number
    append(chunk: unknown): void
    get(index: number): number
    sublist(begin: number, end: number): unknown
    consume(bytes: number): void
  }
  maxBufferSize: number
  maxDataLength: number
  decode: (chunk: unknown) => Iterable<unknown>
}

function isFrameDecoder(value: unknown): value is FrameDecoder {
  const d = value as Partial<FrameDecoder> | undefined
  return (
    typeof d?.decode === 'function' &&
    typeof d.maxBufferSize === 'number' &&
    typeof d.maxDataLength === 'number' &&
    typeof d.buffer?.append === 'function' &&
    typeof d.buffer.get === 'function' &&
    typeof d.buffer.sublist === 'function' &&
    typeof d.buffer.consume === 'function'
  )
}

/**
 * Split the buffered bytes into noise transport frames (a 2-byte big-endian length, then the frame),
 * as the library's decoder does, with the same limits; when a frame is incomplete it returns instead
 * of throwing.
 */
function* decodeFrames(this: FrameDecoder, chunk: unknown): Generator<unknown, void, undefined> {
  const buffer = this.buffer
  buffer.append(chunk)
  if (buffer.byteLength > this.maxBufferSize) {
    throw new MeshError('RESOURCE_EXHAUSTED', `noise read buffer over ${this.maxBufferSize} bytes`)
  }
  while (buffer.byteLength >= 2) {
    const length = (buffer.get(0) << 8) | buffer.get(1)
    if (length > this.maxDataLength) throw new MeshError('INVALID_ARGUMENT', `noise frame of ${length} bytes`)
    const end = 2 + length
    if (buffer.byteLength < end) return
    const frame = buffer.sublist(2, end)
    buffer.consume(end)
    if (length > 0) yield frame
  }
}

/** Give the connection's frame decoder the splitter above, when it has the expected shape. */
function cheapFraming(secured: Secured): Secured {
  const decoder = (secured.connection as unknown as { decoder?: unknown }).decoder
  if (isFrameDecoder(decoder)) decoder.decode = decodeFrames
  return secured
}

/**
 * `@chainsafe/libp2p-noise`, with a frame decoder that does not throw on every received chunk.
 *
 * The noise connection splits incoming bytes into frames with `@libp2p/utils`' length-prefixed
 * decoder, which reads frame lengths until the length reader throws a RangeError, and noise 17's
 * reader constructs a new one each time: so every received chunk ended with an exception and its
 * stack trace, 15.7 % of all CPU time in a profile of relayed calls. Here the connection's decoder
 * splits frames with a loop that stops when a frame is incomplete. Same frames, same limits; a noise
 * whose decoder changed shape keeps its own.
 *
 * @example
 * ```ts
 * import { createLibp2p } from 'libp2p'
 * import { noiseWithCheapFraming } from './noise-framing.ts'
 *
 * const node = await createLibp2p({ connectionEncrypters: [noiseWithCheapFraming()] })
 * ```
 */
export function noiseWithCheapFraming(init?: Parameters<typeof noise>[0]): NoiseFactory {
  const factory = noise(init)
  return (components) => {
    const encrypter = factory(components)
    const inbound = encrypter.secureInbound.bind(encrypter)
    const outbound = encrypter.secureOutbound.bind(encrypter)
    encrypter.secureInbound = (async (...args: Parameters<typeof inbound>) =>
      cheapFraming(await inbound(...args))) as typeof encrypter.secureInbound
    encrypter.secureOutbound = (async (...args: Parameters<typeof outbound>) =>
      cheapFraming(await outbound(...args))) as typeof encrypter.secureOutbound
    return encrypter
  }
}

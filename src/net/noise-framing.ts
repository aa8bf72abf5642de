import { noise } from '@chainsafe/libp2p-noise'

type NoiseFactory = ReturnType<typeof noise>
type NoiseEncrypter = ReturnType<NoiseFactory>
type Secured = Awaited<ReturnType<NoiseEncrypter['secureOutbound']>>

/**
 * Thrown whenever fewer than two bytes of a frame's length are buffered: one error made once. The
 * decoder only looks at its type (RangeError means "wait for more bytes"), so its stack never matters.
 */
const NEED_MORE = new RangeError('fewer than two bytes of a noise frame length are buffered')

/** The big-endian length prefix of a noise transport frame. */
function frameLength(data: Uint8Array | { byteLength: number; get(index: number): number }): number {
  if (data.byteLength < 2) throw NEED_MORE
  // two byte reads: the list's getUint16 copies into a new DataView for each frame
  return data instanceof Uint8Array ? (data[0]! << 8) | data[1]! : (data.get(0) << 8) | data.get(1)
}

/** Give the connection's frame decoder the length reader above, when it has the expected shape. */
function cheapFraming(secured: Secured): Secured {
  const decoder = (secured.connection as unknown as { decoder?: { lengthDecoder?: unknown } }).decoder
  if (decoder !== undefined && typeof decoder.lengthDecoder === 'function') decoder.lengthDecoder = frameLength
  return secured
}

/**
 * `@chainsafe/libp2p-noise`, with a frame decoder that does not build an error per message.
 *
 * The noise connection splits incoming bytes into frames with `@libp2p/utils`' length-prefixed
 * decoder, which reads frame lengths until the reader throws a RangeError. noise 17's reader
 * constructs a new RangeError each time, so every received chunk ends with an exception and its
 * stack trace: in a profile of relayed calls that was 15.7 % of all CPU time. Here the reader throws
 * one RangeError made once. Same frames, same limits; a noise whose decoder changed shape keeps its
 * own reader.
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

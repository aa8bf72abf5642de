import { proposeEarly } from './early-select.ts'

/** The part of a connection encrypter the upgrade calls. */
interface Encrypter {
  secureOutbound(connection: unknown, options?: unknown): Promise<object>
}

/** The parts of libp2p's upgrader that early encryption replaces. */
interface Upgrader {
  connectionEncrypters: Map<string, Encrypter>
  _encryptOutbound(connection: unknown, options?: unknown): Promise<object>
}

function isUpgrader(value: unknown): value is Upgrader {
  const u = value as Partial<Upgrader> | undefined
  return typeof u?._encryptOutbound === 'function' && u.connectionEncrypters instanceof Map
}

/**
 * Start the encryption handshake of each outbound connection with the multistream-select proposal
 * of the one encrypter (noise) in front of its first message, instead of waiting a round trip for
 * the answer first, as libp2p's upgrader does. A cold call through a relay dials twice (the relay,
 * then the circuit to the agent through it), and the circuit's round trip crosses the relay. The
 * answer is checked before the handshake reads anything: a peer that answers no, or anything but
 * multistream-select, fails the upgrade as before.
 *
 * A failed handshake throws an `Error` named `EncryptionFailedError` with the cause, as the upgrader
 * does (libp2p does not export its class).
 *
 * A node with several encrypters needs the answer to know which one runs: it is left as it is, as
 * is a node whose upgrader is not of the shape this relies on (it then returns false).
 *
 * @example
 * ```ts
 * encryptOutboundEarly(node) // true: noise starts with the proposal
 * ```
 */
export function encryptOutboundEarly(node: object): boolean {
  const upgrader = (node as { components?: { upgrader?: unknown } }).components?.upgrader
  if (!isUpgrader(upgrader) || upgrader.connectionEncrypters.size !== 1) return false
  const [protocol, encrypter] = [...upgrader.connectionEncrypters][0] as [string, Encrypter]
  const original = upgrader._encryptOutbound.bind(upgrader)
  upgrader._encryptOutbound = async (connection, options) => {
    if (!proposeEarly(connection, protocol)) return await original(connection, options)
    try {
      return { ...(await encrypter.secureOutbound(connection, options)), protocol }
    } catch (err) {
      // as the upgrader reports it
      throw Object.assign(new Error((err as Error).message, { cause: err }), { name: 'EncryptionFailedError' })
    }
  }
  return true
}

import { JOIN_WRITES_MAX_BYTES } from './constants.ts'
import { gatherFirstTurn } from './first-turn.ts'

/** The parts of a `Uint8ArrayList` (what libp2p's send queue hands a connection) joining needs. */
interface ChunkList {
  readonly bufs: readonly Uint8Array[]
  readonly byteLength: number
  subarray(): Uint8Array
  consume(bytes: number): void
  append(bytes: Uint8Array): void
}

/** The part of libp2p's multiaddr connections (`AbstractMultiaddrConnection`) this joins writes of. */
interface SendsData {
  sendData(data: ChunkList): { sentBytes: number; canSendMore: boolean }
}

/** The parts of libp2p's upgrader that see every new transport connection. */
interface Upgrader {
  upgradeInbound(maConn: unknown, options?: unknown): Promise<unknown>
  upgradeOutbound(maConn: unknown, options?: unknown): Promise<unknown>
}

function isUpgrader(value: unknown): value is Upgrader {
  const u = value as Partial<Upgrader> | undefined
  return typeof u?.upgradeInbound === 'function' && typeof u.upgradeOutbound === 'function'
}

function sendsData(value: unknown): value is SendsData {
  return typeof (value as Partial<SendsData> | undefined)?.sendData === 'function'
}

/**
 * Send each list of chunks a connection hands its transport as one buffer: one socket write, one
 * TCP segment or WebSocket message. libp2p's TCP and WebSocket connections write each chunk of a
 * list on its own, and the messages of a handshake come as lists: a length prefix, then the parts
 * of the message. A noise handshake message went out in up to four writes (2, 32, 48 and 136
 * bytes), and a multistream-select answer in four (1, 19, 1 and 7), each a system call and a wake-up
 * of the reader. Lists of more than {@link JOIN_WRITES_MAX_BYTES} bytes pass as they are: their
 * chunks are large enough, and joining them would copy them.
 */
export function joinSmallWrites(maConn: unknown): void {
  if (!sendsData(maConn)) return
  const send = maConn.sendData.bind(maConn)
  maConn.sendData = (data) => {
    if (data.bufs.length < 2 || data.byteLength > JOIN_WRITES_MAX_BYTES) return send(data)
    // the list is the connection's to change (libp2p's send queue hands over a copy of its own)
    const joined = data.subarray()
    data.consume(data.byteLength)
    data.append(joined)
    return send(data)
  }
}

/**
 * Join small writes ({@link joinSmallWrites}) on every connection the node's transports make or
 * accept from now on, before the upgrade writes anything, and send what an accepted connection
 * writes in its first turn of the event loop (the answer to the proposal of noise, then noise's
 * second handshake message) as one message ({@link gatherFirstTurn}). Returns false, and changes nothing, when
 * the node's upgrader is not of the shape this relies on.
 *
 * @example
 * ```ts
 * const node = await createLibp2p({ transports: [tcp()] })
 * joinTransportWrites(node) // true
 * ```
 */
export function joinTransportWrites(node: object): boolean {
  const upgrader = (node as { components?: { upgrader?: unknown } }).components?.upgrader
  if (!isUpgrader(upgrader)) return false
  const inbound = upgrader.upgradeInbound.bind(upgrader)
  const outbound = upgrader.upgradeOutbound.bind(upgrader)
  upgrader.upgradeInbound = async (maConn, options) => {
    joinSmallWrites(maConn)
    gatherFirstTurn(maConn)
    return await inbound(maConn, options)
  }
  upgrader.upgradeOutbound = async (maConn, options) => {
    joinSmallWrites(maConn)
    return await outbound(maConn, options)
  }
  return true
}

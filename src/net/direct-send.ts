import { AbstractMessageStream } from '@libp2p/utils'

/** The byte list type of the stream's own write buffer (uint8arraylist, in the version @libp2p/utils uses). */
interface ByteList {
  byteLength: number
  append(data: Uint8Array | ByteList): void
  prepend(data: Uint8Array | ByteList): void
  consume(bytes: number): void
}

/** The parts of `@libp2p/utils`' AbstractMessageStream that the direct path uses. */
interface SendingStream {
  writeStatus: string
  writableNeedsDrain: boolean
  sendingData: boolean
  maxMessageSize?: number
  writeBuffer: ByteList
  send(data: Uint8Array | ByteList): boolean
  sendData(data: ByteList): { sentBytes: number; canSendMore: boolean }
  processSendQueue(): boolean
  checkWriteBufferLength(): void
  safeDispatchEvent(type: string): boolean
  abort(err: Error): void
}

let tuned = false

/**
 * Hand a message straight to the layer below when nothing is queued before it.
 *
 * `@libp2p/utils` 7 sends every message through the stream's write buffer: append, take a sublist
 * of it, copy that sublist into another list, consume the buffer, then send. A message crosses three
 * such streams on a direct connection (stream, noise, socket) and six on a relayed one, each way.
 * When the buffer is empty, the stream writable, not waiting for a drain and not already sending, and
 * the message within the stream's largest message, this sends the message at once as the library's
 * loop would (same `sendData` call, same partial-send, drain, `idle` and abort handling), and leaves
 * every other case to the library. 3 us of CPU per relayed call (relay, agent and caller together,
 * in one process, A/B toggled round by round).
 *
 * Applied once per process; a no-op when the class does not have the expected shape.
 */
export function sendDirectWhenIdle(): boolean {
  if (tuned) return true
  const proto = AbstractMessageStream.prototype as unknown as SendingStream
  const queued = proto.send
  if (typeof queued !== 'function' || typeof proto.processSendQueue !== 'function' || typeof proto.checkWriteBufferLength !== 'function') {
    return false
  }
  proto.send = function (this: SendingStream, data: Uint8Array | ByteList): boolean {
    if (
      this.writeStatus !== 'writable' ||
      this.writableNeedsDrain ||
      this.sendingData ||
      this.writeBuffer.byteLength !== 0 ||
      data.byteLength === 0 ||
      (this.maxMessageSize !== undefined && data.byteLength > this.maxMessageSize)
    ) {
      return queued.call(this, data)
    }
    // lists of the same class as the buffer's, holding the caller's bytes (not copied), as the library's
    // sublist does: one for the layer below, which may consume it, and one to keep what it did not send
    const List = this.writeBuffer.constructor as new (data: Uint8Array | ByteList) => ByteList
    const toSend = new List(data)
    const message = new List(data)
    let result: { sentBytes: number; canSendMore: boolean }
    this.sendingData = true
    try {
      try {
        result = this.sendData(toSend)
      } catch (err) {
        // as the library does: the unsent message is back in front of the buffer when the stream aborts
        this.writeBuffer.prepend(message)
        this.abort(err as Error)
        throw err
      }
      if (result.sentBytes !== message.byteLength) {
        // the rest goes in front of whatever was sent meanwhile (sendData can emit events that send)
        message.consume(result.sentBytes)
        this.writeBuffer.prepend(message)
      }
      if (!result.canSendMore) {
        this.writableNeedsDrain = true
        this.checkWriteBufferLength()
      }
      if (this.writeBuffer.byteLength === 0) this.safeDispatchEvent('idle')
    } finally {
      this.sendingData = false
    }
    // part of the message is left and the layer below can take more: the library's loop goes on
    if (result.canSendMore && this.writeBuffer.byteLength > 0) return this.processSendQueue()
    return result.canSendMore
  }
  tuned = true
  return true
}

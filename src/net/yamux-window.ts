import { YamuxStream } from '@chainsafe/libp2p-yamux/stream'

/** yamux stream states, as `@chainsafe/libp2p-yamux` numbers them. */
const INIT = 0
const SYN_SENT = 1
const SYN_RECEIVED = 2
const ESTABLISHED = 3
const FINISHED = 4

interface YamuxStreamInternals {
  state: number
  status: string
  writeBuffer: { byteLength: number }
  recvWindow: number
  recvWindowCapacity: number
  sendWindowUpdate(): void
  sendPause(): void
  abort(err: Error): void
}

/** Streams whose opening flag (SYN or ACK) waits for the end of this turn of the event loop. */
const flagPending = new WeakSet<YamuxStreamInternals>()

let tuned = false

/**
 * Send yamux window updates only when half the receive window is used, as hashicorp/yamux does.
 *
 * `@chainsafe/libp2p-yamux` 8.x answers every data frame it receives with a window-update frame. For
 * RPC, where most messages are a few hundred bytes, that doubles the frames on the wire, and on a
 * relayed connection it happens twice (the inner connection's yamux and the outer one's): in our
 * benchmark it cost about 40 % of the throughput of small calls. Deferring the update until the
 * window is half used keeps flow control intact (the sender can still have up to a full window in
 * flight) while small messages go without an extra frame each. Paused streams keep the library's
 * behaviour.
 *
 * A new stream sends its opening flag (SYN when it opens a stream, ACK when it accepts one) with its
 * first frame, as the yamux specification allows, when that frame is sent before the end of the
 * current turn of the event loop; otherwise a window update carries the flag then, as the library
 * does at once. The library sent each flag in a window update of its own, and the stream's first
 * data (a protocol proposal and request, or the answer) followed a moment later: an extra frame,
 * noise message and socket write per stream and side. A cold call through a relay opens four
 * streams (name lookup and hop to the relay, stop from it to the agent, the call itself).
 *
 * Applied once per process; a no-op when the stream class does not have the expected shape, so a
 * yamux that changed keeps its own behaviour.
 */
export function tuneYamuxWindowUpdates(): boolean {
  if (tuned) return true
  const proto = YamuxStream.prototype as unknown as YamuxStreamInternals
  const original = proto.sendWindowUpdate
  if (typeof original !== 'function') return false
  const pause = proto.sendPause
  if (typeof pause !== 'function') return false
  const opening = (stream: YamuxStreamInternals): boolean => stream.state === INIT || stream.state === SYN_RECEIVED
  const sendFlag = (stream: YamuxStreamInternals): void => {
    flagPending.delete(stream)
    // nothing has been sent since (that would have carried the flag), nothing waits to be sent (that
    // will carry it), and the stream still stands
    const waiting = stream.writeBuffer.byteLength > 0
    if (opening(stream) && !waiting && stream.status !== 'aborted' && stream.status !== 'reset' && stream.status !== 'closed') {
      try {
        original.call(stream)
      } catch (err) {
        // the connection under the stream refused the frame (it is closing): the stream fails, not the process
        stream.abort(err as Error)
      }
    }
  }
  proto.sendWindowUpdate = function (this: YamuxStreamInternals) {
    const halfFree = typeof this.recvWindow === 'number' && this.recvWindowCapacity > this.recvWindow / 2
    if (opening(this) && halfFree) {
      if (!flagPending.has(this)) {
        flagPending.add(this)
        setImmediate(sendFlag, this)
      }
      return
    }
    const quiet = this.state === SYN_SENT || this.state === ESTABLISHED || this.state === FINISHED
    if (quiet && halfFree) return
    original.call(this)
  }
  // a stream paused before it sent its opening flag would lose its state, and with it the flag: send it first
  proto.sendPause = function (this: YamuxStreamInternals) {
    if (opening(this)) original.call(this)
    pause.call(this)
  }
  tuned = true
  return true
}

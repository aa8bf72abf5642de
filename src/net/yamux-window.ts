import { YamuxStream } from '@chainsafe/libp2p-yamux/stream'

/** yamux stream states, as `@chainsafe/libp2p-yamux` numbers them. */
const SYN_SENT = 1
const ESTABLISHED = 3
const FINISHED = 4

interface YamuxStreamInternals {
  state: number
  recvWindow: number
  recvWindowCapacity: number
  sendWindowUpdate(): void
}

let tuned = false

/**
 * Send yamux window updates only when half the receive window is used, as hashicorp/yamux does.
 *
 * `@chainsafe/libp2p-yamux` 8.x answers every data frame it receives with a window-update frame. For
 * RPC, where most messages are a few hundred bytes, that doubles the frames on the wire, and on a
 * relayed connection it happens twice (the inner connection's yamux and the outer one's): in our
 * benchmark it cost about 40 % of the throughput of small calls. Deferring the update until the
 * window is half used keeps flow control intact (the sender can still have up to a full window in
 * flight) while small messages go without an extra frame each. Opening (SYN/ACK) and paused streams
 * keep the library's behaviour.
 *
 * Applied once per process; a no-op when the stream class does not have the expected shape, so a
 * yamux that changed keeps its own behaviour.
 */
export function tuneYamuxWindowUpdates(): boolean {
  if (tuned) return true
  const proto = YamuxStream.prototype as unknown as YamuxStreamInternals
  const original = proto.sendWindowUpdate
  if (typeof original !== 'function') return false
  proto.sendWindowUpdate = function (this: YamuxStreamInternals) {
    const quiet = this.state === SYN_SENT || this.state === ESTABLISHED || this.state === FINISHED
    if (quiet && typeof this.recvWindow === 'number' && this.recvWindowCapacity > this.recvWindow / 2) return
    original.call(this)
  }
  tuned = true
  return true
}

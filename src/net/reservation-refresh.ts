import type { Libp2p } from 'libp2p'

interface ServerReservation {
  signal: AbortSignal & { clear(): void }
}

interface ServerReservationStore {
  reservations: { get(peer: unknown): ServerReservation | undefined; delete(peer: unknown): boolean }
  reserve(peer: unknown, addr: unknown, limit?: unknown): unknown
}

/**
 * Make reservation refreshes last on a circuit relay v2 server.
 *
 * `@libp2p/circuit-relay-v2` (4.2.x) refreshes a reservation by `reset()`ting its retimeable-signal
 * timer, and retimeable-signal 1.0.1 loses its abort handler on the first reset: from the second
 * refresh on, the timer of the first refresh still fires and the relay drops a reservation its agent
 * keeps renewing (found by our 10-minute long-haul run with a 30 s TTL). Here a refresh replaces the
 * reservation with a new one whose timer was never reset, after clearing the old timer, so the relay
 * keeps a reservation exactly as long as the agent renews it.
 *
 * This reaches into the relay service's reservation store (not public API); it is a no-op when the
 * store does not have the expected shape, so a fixed libp2p keeps working.
 */
export function fixReservationRefresh(node: Libp2p): boolean {
  const service = (node.services as Record<string, unknown>).relay as { reservationStore?: ServerReservationStore } | undefined
  const store = service?.reservationStore
  if (store === undefined || typeof store.reserve !== 'function' || typeof store.reservations?.get !== 'function') {
    return false
  }
  const reserve = store.reserve.bind(store)
  store.reserve = (peer, addr, limit) => {
    const held = store.reservations.get(peer)
    if (held !== undefined) {
      held.signal.clear()
      store.reservations.delete(peer)
    }
    return reserve(peer, addr, limit)
  }
  return true
}

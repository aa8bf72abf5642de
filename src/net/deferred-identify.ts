import type { Connection } from '@libp2p/interface'
import { identify } from '@libp2p/identify'
import { IDENTIFY_DELAY_MS } from './constants.ts'

type IdentifyComponents = Parameters<ReturnType<typeof identify>>[0]
type IdentifyService = ReturnType<ReturnType<typeof identify>>

/**
 * libp2p's identify service, run a moment after a connection opens instead of at once.
 *
 * By default identify runs on every new connection in both directions while the connection's first
 * streams are being negotiated: on a cold call through a relay that is two more streams, two signed
 * peer records and two peer-store updates on the critical path (the cold-call bench measured about
 * 7 ms of a 28 ms first call). Nothing on the call path needs what identify learns; DCUtR and
 * protocol topologies do, and get it `delayMs` later. Identify still answers at once when the
 * remote asks.
 *
 * @example
 * ```ts
 * import { createLibp2p } from 'libp2p'
 * import { deferredIdentify } from './deferred-identify.ts'
 *
 * const node = await createLibp2p({ services: { identify: deferredIdentify(100) } })
 * ```
 */
export function deferredIdentify(delayMs: number = IDENTIFY_DELAY_MS): (components: IdentifyComponents) => IdentifyService {
  return (components) => {
    const service = identify({ runOnConnectionOpen: false })(components)
    const later = (connection: Connection): void => {
      if (connection.status !== 'open') return
      service.identify(connection).catch(() => {
        // the connection closed, or the peer does not speak identify: nothing learnt, nothing lost
      })
    }
    components.events.addEventListener('connection:open', (evt) => {
      setTimeout(later, delayMs, evt.detail).unref()
    })
    return service
  }
}

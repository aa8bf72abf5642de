import { dcutr } from '@libp2p/dcutr'
import type { Connection, Stream } from '@libp2p/interface'
import { DRAIN_POLL_MS, DRAIN_QUIET_CHECKS, DRAIN_QUIET_MS } from './constants.ts'

type DcutrFactory = ReturnType<typeof dcutr>

/** The two methods of libp2p's DCUtR service that are handed the relayed connection they replace. */
interface Upgrading {
  upgradeInbound(connection: Connection): Promise<void>
  handleIncomingUpgrade(stream: Stream, connection: Connection): Promise<void>
}

function isUpgrading(value: unknown): value is Upgrading {
  const s = value as Partial<Upgrading> | undefined
  return typeof s?.upgradeInbound === 'function' && typeof s.handleIncomingUpgrade === 'function'
}

/**
 * Resolves once `connection` has carried no call (`busy` counts its calls in flight, both ways) for
 * {@link DRAIN_QUIET_MS} and over at least {@link DRAIN_QUIET_CHECKS} checks in a row, or once it is
 * no longer open. The closing side cannot see a request still on its way to it: the quiet spell
 * lets it land and be counted, and the checks in a row keep an event loop that stalled (its timers
 * run before the socket it has not read yet) from taking the stall for quiet.
 */
async function drained(connection: Connection, busy: (connection: Connection) => number): Promise<void> {
  let quietSince: number | undefined
  let quietChecks = 0
  while (connection.status === 'open') {
    if (busy(connection) > 0) {
      quietSince = undefined
      quietChecks = 0
    } else {
      quietSince ??= Date.now()
      if (++quietChecks >= DRAIN_QUIET_CHECKS && Date.now() - quietSince >= DRAIN_QUIET_MS) return
    }
    await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS).unref())
  }
}

/**
 * libp2p's DCUtR service, except that the relayed connection it replaced closes only once no call
 * runs on it.
 *
 * DCUtR closes the relayed connection as soon as the direct one is up, and closing a connection
 * closes its streams: every call in flight on it failed with `UNAVAILABLE` ("the agent closed the
 * call stream"), about 100 ms after two peers first met, which is when the upgrade comes. Here the
 * close DCUtR asks for returns at once and happens later: new calls take the direct connection
 * (the peer dialer moves to it when it opens), the calls on the relayed one finish there, and the
 * relayed connection is closed once `busy` has counted no call on it for a quiet spell. Every call
 * has a deadline, so the wait ends. A DCUtR service of another shape is left as it is, and logged.
 * A DCUtR service given in `libp2p.services` replaces this one.
 *
 * @param busy - calls in flight on a connection, those it serves and those it makes
 * @example
 * ```ts
 * import { createLibp2p } from 'libp2p'
 * import { drainingDcutr } from './draining-dcutr.ts'
 *
 * const node = await createLibp2p({ services: { dcutr: drainingDcutr((connection) => callsOn(connection)) } })
 * ```
 */
export function drainingDcutr(busy: (connection: Connection) => number): DcutrFactory {
  const factory = dcutr()
  return (components) => {
    const service = factory(components)
    if (!isUpgrading(service)) {
      components.logger.forComponent('agentmesh:dcutr').error('DCUtR has an unknown shape: an upgrade closes the relayed connection at once, with any call on it')
      return service
    }
    const closeWhenDrained = (connection: Connection): Connection =>
      new Proxy(connection, {
        get(target, property) {
          if (property === 'close') {
            return async (): Promise<void> => {
              drained(target, busy)
                .then(async () => await target.close())
                .catch((err: unknown) => target.abort(err as Error))
            }
          }
          const value: unknown = Reflect.get(target, property, target)
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
        }
      })
    const upgradeInbound = service.upgradeInbound.bind(service)
    const handleIncomingUpgrade = service.handleIncomingUpgrade.bind(service)
    // both are looked up on the service when used: the topology calls the first, start() registers the second
    service.upgradeInbound = async (connection) => await upgradeInbound(closeWhenDrained(connection))
    service.handleIncomingUpgrade = async (stream, connection) => await handleIncomingUpgrade(stream, closeWhenDrained(connection))
    return service
  }
}

import type { ComponentLogger, Logger } from '@libp2p/interface'
import { defaultLogger, enabled } from '@libp2p/logger'

const ignore = (): void => {}

/** A logger that writes nothing, for `name`; its scopes are checked again when they are made. */
function silent(name: string, real: ComponentLogger): Logger {
  return Object.assign(() => {}, {
    enabled: false,
    error: ignore,
    trace: ignore,
    newScope: (scope: string): Logger => scoped(`${name}:${scope}`, real)
  }) as unknown as Logger
}

/** libp2p's own logger for `name` when `DEBUG` asks for any of its output, a silent one otherwise. */
function scoped(name: string, real: ComponentLogger): Logger {
  return enabled(name) || enabled(`${name}:error`) || enabled(`${name}:trace`) ? real.forComponent(name) : silent(name, real)
}

/**
 * libp2p's component logger, minus the cost of loggers nobody reads.
 *
 * libp2p makes a logger for every connection, stream and handshake (`newScope`), and `@libp2p/logger`
 * builds three `debug` instances for each, enabled or not: 8 us apiece here, and tens of them per
 * connection, on every side of a cold call. This one asks `DEBUG` first (0.1 us) and makes the real
 * logger only for the names it enables, so `DEBUG=libp2p:*,agentmesh:*` logs exactly what it did.
 * Whether a logger writes is decided when it is made: set `DEBUG` (or call `enable()` from
 * `@libp2p/logger`) before the node starts.
 *
 * @example
 * ```ts
 * const node = await createLibp2p({ logger: quietLogger(), ... })
 * ```
 */
export function quietLogger(real: ComponentLogger = defaultLogger()): ComponentLogger {
  return { forComponent: (name: string): Logger => scoped(name, real) }
}

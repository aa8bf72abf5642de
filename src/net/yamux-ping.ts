import { yamux } from '@chainsafe/libp2p-yamux'
import type { StreamMuxerFactory } from '@libp2p/interface'
import { repeatingTask } from '@libp2p/utils'
import { FIRST_PING_DELAY_MS, YAMUX_KEEP_ALIVE_INTERVAL_MS } from './constants.ts'

type YamuxInit = NonNullable<Parameters<typeof yamux>[0]>

/** The parts of `@chainsafe/libp2p-yamux`'s muxer that the delayed keep-alive uses. */
interface PingingMuxer {
  status: string
  ping(options?: { signal?: AbortSignal }): Promise<number>
  /** The muxer's own keep-alive task: its close and abort stop it. */
  keepAlive?: { start(): void; stop(): void }
}

function isPingingMuxer(value: unknown): value is PingingMuxer {
  const m = value as Partial<PingingMuxer> | undefined
  return typeof m?.ping === 'function' && typeof m.status === 'string'
}

/**
 * yamux whose keep-alive sends its first ping {@link FIRST_PING_DELAY_MS} after a connection opens,
 * then every `keepAliveInterval` as before.
 *
 * `@chainsafe/libp2p-yamux` pings at once on every new connection, on both sides, to learn the round
 * trip time (its streams grow their receive windows only once they know it). On a cold call that
 * put four frames on the wire (two pings, two answers) right when the first request and its answer
 * do, on the connection to the relay and again on the circuit through it, where each ping crosses the
 * relay twice: noise messages, socket writes and wake-ups of three processes that the call was
 * waiting on. The round trip time is learned a moment later instead; until then streams keep their
 * initial 256 KiB windows.
 *
 * @example
 * ```ts
 * const node = await createLibp2p({ streamMuxers: [yamuxPingingLater({ maxEarlyStreams: 1024 })] })
 * ```
 */
export function yamuxPingingLater(init: YamuxInit = {}): () => StreamMuxerFactory {
  const interval = init.keepAliveInterval ?? YAMUX_KEEP_ALIVE_INTERVAL_MS
  const make = yamux({ ...init, enableKeepAlive: false })
  if (init.enableKeepAlive === false) return make
  return () => {
    const factory = make()
    const create = factory.createStreamMuxer.bind(factory)
    factory.createStreamMuxer = (maConn) => {
      const muxer = create(maConn)
      if (isPingingMuxer(muxer)) keepAliveLater(muxer, interval)
      return muxer
    }
    return factory
  }
}

function keepAliveLater(muxer: PingingMuxer, interval: number): void {
  const task = repeatingTask(
    async (options) => {
      // as yamux's own keep-alive: a ping that fails is retried at the next interval
      await muxer.ping(options).catch(() => {})
    },
    interval,
    { runImmediately: true }
  )
  muxer.keepAlive = task
  const timer = setTimeout(() => {
    if (muxer.status === 'open' && muxer.keepAlive === task) task.start()
  }, FIRST_PING_DELAY_MS)
  timer.unref()
}

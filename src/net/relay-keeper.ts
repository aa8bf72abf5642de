import { TypedEventEmitter, setMaxListeners } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import {
  DEFAULT_RESERVATIONS_MULTI,
  MAX_RESERVATION_TTL_MS,
  MAX_TIMER_DELAY_MS,
  MIN_RENEW_DELAY_MS,
  RECONNECT_BACKOFF_MULTIPLIER,
  RECONNECT_INITIAL_BACKOFF_MS,
  RECONNECT_JITTER,
  RECONNECT_MAX_BACKOFF_MS,
  RESERVATION_ATTEMPT_TIMEOUT_MS,
  RESERVATION_RENEW_MARGIN_MS
} from './keeper-constants.ts'
import type {
  AbortOptions,
  Listener,
  Logger,
  PeerId,
  Startable,
  Transport
} from '@libp2p/interface'

import type {
  RelayKeeperComponents,
  RelayKeeperEvents,
  RelayKeeperInit,
  RelayStatus
} from './relay-keeper-types.ts'

/** The parts of @libp2p/circuit-relay-v2's client reservation store the keeper relies on. */
interface ReservationStore {
  hasReservation(peer: PeerId): boolean
  getReservation(peer: PeerId): { expire: bigint } | undefined
  addRelay(peer: PeerId, type: 'configured'): Promise<unknown>
  addEventListener(type: string, listener: (evt: CustomEvent<{ relay: PeerId }>) => void): void
  removeEventListener(type: string, listener: (evt: CustomEvent<{ relay: PeerId }>) => void): void
  relayFilter?: { remove(item: Uint8Array): boolean }
}

interface RelayState {
  addr: string
  circuit: Multiaddr
  peer: PeerId
  status: 'idle' | 'connecting' | 'reserved'
  failures: number
  nextAttemptAt: number
  expires?: number
  renewTimer?: ReturnType<typeof setTimeout>
}

const CIRCUIT_TRANSPORT_TAG = '@libp2p/circuit-relay-v2-transport'

/**
 * Holds circuit-relay reservations on N of the configured relays: renews them before they expire,
 * notices when one is lost, retries with exponential backoff and jitter (moving to a spare relay
 * meanwhile), and reports every change as an event.
 */
export class RelayKeeper extends TypedEventEmitter<RelayKeeperEvents> implements Startable {
  private readonly components: RelayKeeperComponents
  private readonly log: Logger
  private readonly relays: RelayState[]
  private readonly target: number
  private readonly initialBackoff: number
  private readonly maxBackoff: number
  private readonly multiplier: number
  private readonly jitter: number
  private readonly attemptTimeout: number
  private readonly renewMargin: number
  private readonly maxReservationTtl: number
  private readonly onReservation: RelayKeeperInit['onReservation']
  private store: ReservationStore | undefined
  private shutdown = new AbortController()
  private fillTimer: ReturnType<typeof setTimeout> | undefined
  private started = false
  private serial: Promise<unknown> = Promise.resolve()

  constructor(components: RelayKeeperComponents, init: RelayKeeperInit) {
    super()
    this.components = components
    this.log = components.logger.forComponent('agentmesh:keeper')
    this.relays = init.relays.map((addr) => {
      const ma = multiaddr(addr)
      const id = ma.getComponents().findLast((c) => c.name === 'p2p')?.value
      if (id === undefined) throw new Error(`relay address ${addr} must end in /p2p/<relay-id>`)
      return {
        addr: ma.toString(),
        circuit: ma.encapsulate('/p2p-circuit'),
        peer: peerIdFromString(id),
        status: 'idle',
        failures: 0,
        nextAttemptAt: 0
      }
    })
    const wanted = init.reservations ?? (this.relays.length >= 2 ? DEFAULT_RESERVATIONS_MULTI : 1)
    this.target = Math.min(Math.max(0, wanted), this.relays.length)
    this.initialBackoff = init.initialBackoffMs ?? RECONNECT_INITIAL_BACKOFF_MS
    this.maxBackoff = init.maxBackoffMs ?? RECONNECT_MAX_BACKOFF_MS
    this.multiplier = init.backoffMultiplier ?? RECONNECT_BACKOFF_MULTIPLIER
    this.jitter = Math.min(Math.max(init.jitter ?? RECONNECT_JITTER, 0), 1)
    this.attemptTimeout = init.attemptTimeoutMs ?? RESERVATION_ATTEMPT_TIMEOUT_MS
    this.renewMargin = init.renewMarginMs ?? RESERVATION_RENEW_MARGIN_MS
    this.maxReservationTtl = init.maxReservationTtlMs ?? MAX_RESERVATION_TTL_MS
    this.onReservation = init.onReservation
  }

  readonly [Symbol.toStringTag] = 'agentmesh/relay-keeper'

  /** True between `start()` and `stop()` (libp2p's `Startable`). */
  isStarted(): boolean {
    return this.started
  }

  start(): void {
    if (this.relays.length === 0) return
    const transport = this.components.transportManager
      .getTransports()
      .find((t) => t[Symbol.toStringTag] === CIRCUIT_TRANSPORT_TAG) as
      | (Transport & { reservationStore?: ReservationStore })
      | undefined
    if (transport?.reservationStore === undefined) {
      throw new Error('the relay keeper needs the circuit relay transport (circuitRelayTransport())')
    }
    this.store = transport.reservationStore
    this.store.addEventListener('relay:created-reservation', this.onCreated)
    this.store.addEventListener('relay:removed', this.onRemoved)
    this.shutdown = new AbortController()
    setMaxListeners(Infinity, this.shutdown.signal)
    this.started = true
  }

  /**
   * Makes the first round of reservations and waits for it (each attempt is bounded by
   * `attemptTimeoutMs`), so a node comes up already reachable when its relays are; relays that are
   * down do not stop it from starting and are retried in the background.
   */
  async afterStart(): Promise<void> {
    await Promise.allSettled(this.fill())
  }

  stop(): void {
    this.started = false
    this.shutdown.abort()
    clearTimeout(this.fillTimer)
    for (const relay of this.relays) {
      clearTimeout(relay.renewTimer)
      relay.status = 'idle'
    }
    this.store?.removeEventListener('relay:created-reservation', this.onCreated)
    this.store?.removeEventListener('relay:removed', this.onRemoved)
  }

  /** The relays on which a reservation is held now, as configured multiaddrs. */
  get reserved(): string[] {
    return this.relays.filter((r) => r.status === 'reserved').map((r) => r.addr)
  }

  /** Every reserved relay with its expiry. */
  get statuses(): RelayStatus[] {
    return this.relays.filter((r) => r.status === 'reserved').map((r) => this.status(r))
  }

  /** Resolves once at least one reservation is held; rejects when `options.signal` aborts first. */
  async ready(options: AbortOptions = {}): Promise<void> {
    if (this.reserved.length > 0 || this.relays.length === 0) return
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        this.removeEventListener('relay:connected', done)
        options.signal?.removeEventListener('abort', abort)
        resolve()
      }
      const abort = (): void => {
        this.removeEventListener('relay:connected', done)
        reject(options.signal?.reason ?? new Error('aborted'))
      }
      if (options.signal?.aborted === true) {
        abort()
        return
      }
      this.addEventListener('relay:connected', done)
      options.signal?.addEventListener('abort', abort, { once: true })
    })
  }

  private status(relay: RelayState): RelayStatus {
    return { relay: relay.addr, peer: relay.peer.toString(), ...(relay.expires === undefined ? {} : { expires: relay.expires }) }
  }

  private find(peer: PeerId): RelayState | undefined {
    return this.relays.find((r) => r.peer.equals(peer))
  }

  private readonly onCreated = (evt: CustomEvent<{ relay: PeerId }>): void => {
    const relay = this.find(evt.detail.relay)
    if (relay === undefined || !this.started) return
    relay.expires = this.grantedExpiry(relay)
    this.scheduleRenewal(relay)
    if (relay.status === 'reserved') {
      this.log('renewed reservation on %s until %s', relay.addr, new Date(relay.expires ?? 0).toISOString())
      this.safeDispatchEvent('reservation:renewed', { detail: this.status(relay) })
      return
    }
    this.markReserved(relay)
  }

  private readonly onRemoved = (evt: CustomEvent<{ relay: PeerId }>): void => {
    const relay = this.find(evt.detail.relay)
    if (relay === undefined || relay.status !== 'reserved' || !this.started) return
    this.log('lost the reservation on %s', relay.addr)
    clearTimeout(relay.renewTimer)
    relay.status = 'idle'
    relay.expires = undefined
    relay.failures = 0
    relay.nextAttemptAt = Date.now() + this.backoff(1)
    this.safeDispatchEvent('relay:disconnected', { detail: this.status(relay) })
    this.fill()
  }

  private markReserved(relay: RelayState): void {
    relay.status = 'reserved'
    relay.failures = 0
    this.log('holding a reservation on %s', relay.addr)
    this.safeDispatchEvent('relay:connected', { detail: this.status(relay) })
    const hook = this.onReservation
    if (hook === undefined) return
    // run after the circuit listener (another handler of the same event) has advertised the address
    queueMicrotask(() => {
      Promise.resolve()
        .then(async () => {
          await hook(relay.addr, { signal: AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.attemptTimeout)]) })
        })
        .catch((err: unknown) => {
          this.log.error('onReservation for %s failed - %e', relay.addr, err)
        })
    })
  }

  /** The wait before attempt number `failures + 1`: exponential, capped, with jitter. */
  backoff(failures: number): number {
    const base = Math.min(this.maxBackoff, this.initialBackoff * this.multiplier ** Math.max(0, failures - 1))
    return Math.max(0, Math.round(base * (1 + this.jitter * (2 * Math.random() - 1))))
  }

  /** Start attempts until the wanted number of relays are reserved or being tried; returns them. */
  private fill(): Array<Promise<void>> {
    const attempts: Array<Promise<void>> = []
    if (!this.started) return attempts
    clearTimeout(this.fillTimer)
    const now = Date.now()
    let busy = this.relays.filter((r) => r.status !== 'idle').length
    for (const relay of this.relays) {
      if (busy >= this.target) break
      if (relay.status !== 'idle' || relay.nextAttemptAt > now) continue
      busy++
      attempts.push(this.attempt(relay))
    }
    if (busy >= this.target) return attempts
    const next = Math.min(...this.relays.filter((r) => r.status === 'idle').map((r) => r.nextAttemptAt))
    if (!Number.isFinite(next)) return attempts
    this.fillTimer = setTimeout(() => this.fill(), Math.max(0, next - now))
    this.fillTimer.unref?.()
    return attempts
  }

  private async attempt(relay: RelayState): Promise<void> {
    relay.status = 'connecting'
    const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.attemptTimeout)])
    try {
      await this.reserve(relay, { signal })
      if (!this.started) return
      // the reservation event may already have marked it reserved while we awaited
      if ((relay.status as RelayState['status']) !== 'reserved') {
        relay.expires = this.grantedExpiry(relay)
        this.scheduleRenewal(relay)
        this.markReserved(relay)
      }
    } catch (err) {
      if (!this.started) return
      relay.failures++
      const wait = this.backoff(relay.failures)
      relay.nextAttemptAt = Date.now() + wait
      if (relay.status === 'connecting') relay.status = 'idle'
      this.log('attempt %d on %s failed, next in %d ms - %s', relay.failures, relay.addr, wait, (err as Error).message)
    } finally {
      this.fill()
    }
  }

  private async reserve(relay: RelayState, options: AbortOptions): Promise<void> {
    const store = this.store
    if (store === undefined) throw new Error('not started')
    const connection = await this.components.connectionManager.openConnection(relay.circuit.decapsulate('/p2p-circuit'), options)
    if (!connection.remotePeer.equals(relay.peer)) throw new Error(`${relay.addr} answered as another peer`)
    if (store.hasReservation(relay.peer)) return
    // the circuit transport refuses a relay it once failed to dial, for good; we keep our own backoff
    store.relayFilter?.remove(relay.peer.toMultihash().bytes)
    const listening = this.components.transportManager
      .getListeners()
      .some((l) => (l as Listener & { relay?: PeerId }).relay?.equals(relay.peer) === true)
    // an existing listener re-advertises the address when its relay grants a new reservation;
    // otherwise a new listener both reserves and advertises
    await this.exclusive(async () => {
      if (store.hasReservation(relay.peer)) return
      if (listening) await store.addRelay(relay.peer, 'configured')
      else await this.components.transportManager.listen([relay.circuit])
    }, options)
    if (!store.hasReservation(relay.peer)) throw new Error(`${relay.addr} granted no reservation`)
  }

  /**
   * Run `operation` when no other reservation operation of this keeper is running, and give up on it
   * when `options.signal` aborts. The circuit transport queues reservations one at a time and drops
   * (never settles) queued ones as soon as any reservation completes, so they must not overlap.
   */
  private async exclusive<T>(operation: () => Promise<T>, options: AbortOptions): Promise<T> {
    const previous = this.serial
    let release = (): void => {}
    this.serial = new Promise<void>((resolve) => {
      release = resolve
    })
    try {
      await raceSignal(previous, options.signal)
      return await raceSignal(operation(), options.signal)
    } finally {
      release()
    }
  }

  /**
   * The expiry of the reservation held on `relay`, in ms since the epoch, as the relay granted it but
   * no later than `maxReservationTtlMs` from now: a relay claiming a longer reservation is lying.
   */
  private grantedExpiry(relay: RelayState): number | undefined {
    const expire = this.store?.getReservation(relay.peer)?.expire
    if (expire === undefined) return undefined
    const latest = Date.now() + this.maxReservationTtl
    const claimed = Number(expire) * 1000
    if (!(claimed <= latest)) {
      this.log('%s claims a reservation until %s; taking it to end at %s', relay.addr, new Date(Math.min(claimed, 8.64e15)).toISOString(), new Date(latest).toISOString())
      return latest
    }
    return claimed
  }

  private scheduleRenewal(relay: RelayState): void {
    clearTimeout(relay.renewTimer)
    if (relay.expires === undefined || !this.started) return
    const remaining = relay.expires - Date.now()
    // a Node.js timer longer than 2^31-1 ms fires at once: bounded on both sides
    const delay = Math.min(
      MAX_TIMER_DELAY_MS,
      Math.max(MIN_RENEW_DELAY_MS, remaining > 2 * this.renewMargin ? remaining - this.renewMargin : remaining / 2)
    )
    relay.renewTimer = setTimeout(() => {
      const before = relay.expires
      const store = this.store
      if (store === undefined) return
      const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.attemptTimeout)])
      this.exclusive(async () => store.addRelay(relay.peer, 'configured'), { signal })
        .then(async () => {
          if (relay.status !== 'reserved' || relay.expires !== before) return
          if (before !== undefined && before <= Date.now()) {
            // the reservation should have ended, yet the transport keeps the relay's claim and will
            // not renew it: drop the connection, which drops the reservation, and reserve anew
            this.log('%s did not renew a reservation past its believable end; reconnecting', relay.addr)
            await this.components.connectionManager.closeConnections(relay.peer, { signal })
            return
          }
          // the relay store refreshes only within its own window; try again closer to expiry
          this.scheduleRenewal(relay)
        })
        .catch((err: unknown) => {
          this.log('renewal on %s failed - %e', relay.addr, err)
        })
    }, delay)
    relay.renewTimer.unref?.()
  }
}

/** `promise`, or a rejection with the signal's reason as soon as `signal` aborts. */
async function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return await promise
  signal.throwIfAborted()
  let onAbort = (): void => {}
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason as Error)
        signal.addEventListener('abort', onAbort, { once: true })
      })
    ])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/**
 * A libp2p service that keeps an agent reachable through its relays.
 *
 * @example
 * ```ts
 * import { createLibp2p } from 'libp2p'
 * import { relayKeeper } from './relay-keeper.ts'
 *
 * const node = await createLibp2p({
 *   // …transports including circuitRelayTransport()…
 *   services: { relayKeeper: relayKeeper({ relays: [relayAddr], onReservation: (addr) => register(addr) }) }
 * })
 * node.services.relayKeeper.addEventListener('relay:disconnected', (evt) => alerts.push(evt.detail.relay))
 * ```
 */
export function relayKeeper(init: RelayKeeperInit): (components: RelayKeeperComponents) => RelayKeeper {
  return (components) => new RelayKeeper(components, init)
}

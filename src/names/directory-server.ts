import { pipe } from 'it-pipe'
import { MeshError } from '../errors.ts'
import { decodeMessages, encodeMessage } from '../rpc/codec.ts'
import type { RevocationStore } from '../ucan/index.ts'
import {
  DIRECTORY_PROTOCOL,
  DIRECTORY_TIMEOUT_MS,
  DIRECTORY_VERSION,
  MAX_DIRECTORY_MESSAGE_BYTES,
  MAX_DIRECTORY_STREAMS,
  MAX_LIST_RESULTS,
  MAX_WATCHES_PER_CONNECTION,
  REGISTRATIONS_PER_MINUTE
} from './constants.ts'
import { writeMessage } from '../rpc/codec.ts'
import { readMessage } from './exchange.ts'
import { type DirectoryAnswer, type DirectoryRequest, parseRequest, underPrefix, type WatchEvent } from './messages.ts'
import { isLive, isNewer, type NameRecord, verifyNameRecord } from './record.ts'
import { RateLimiter } from './rate-limit.ts'
import { assertName } from './syntax.ts'
import type { ComponentLogger, Connection, Logger, Startable, Stream } from '@libp2p/interface'

/** The part of a libp2p node the directory server needs. */
export interface DirectoryServerComponents {
  registrar: {
    handle(protocol: string, handler: (stream: Stream, connection: Connection) => void, options?: object): Promise<void>
    unhandle(protocol: string): Promise<void>
  }
  logger: ComponentLogger
}

/** Options of the directory server. */
export interface DirectoryServerInit {
  /** Trusted authorities: organisation → did. Records of other organisations are refused. */
  trust: Readonly<Record<string, string>>
  /** Revoked delegations: records resting on them are refused. */
  revoked?: RevocationStore
  /**
   * Registrations one peer may make per minute.
   *
   * @default REGISTRATIONS_PER_MINUTE
   */
  registrationsPerMinute?: number
  /** How often expired records are swept (and watchers told), in ms. @default 1000 */
  sweepIntervalMs?: number
}

interface Watcher {
  prefix: string
  stream: Stream
}

/**
 * Serves `/agentmesh/dir/1` on a relay: register, resolve, list by prefix, and watch. Every record
 * is verified before it is stored (signature, naming right rooted in a trusted authority, policy on
 * the name, revocation, expiry); a higher `seq` replaces a lower one and nothing else does, unless
 * the held one's naming right was revoked or has expired (it is then dropped); only the named agent
 * itself may register its record; registrations are rate limited per peer.
 */
export class DirectoryServer implements Startable {
  private readonly components: DirectoryServerComponents
  private readonly init: DirectoryServerInit
  private readonly log: Logger
  private readonly records = new Map<string, NameRecord>()
  private readonly watchers = new Set<Watcher>()
  private readonly watchCount = new WeakMap<Connection, number>()
  private readonly limiter: RateLimiter
  private sweeper: ReturnType<typeof setInterval> | undefined
  private started = false

  constructor(components: DirectoryServerComponents, init: DirectoryServerInit) {
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('agentmesh:dir:server')
    this.limiter = new RateLimiter(init.registrationsPerMinute ?? REGISTRATIONS_PER_MINUTE, 60_000)
  }

  async start(): Promise<void> {
    if (this.started) return
    await this.components.registrar.handle(
      DIRECTORY_PROTOCOL,
      (stream, connection) => {
        this.onStream(stream, connection).catch((err: unknown) => {
          this.log('directory stream failed - %e', err)
          stream.abort(err instanceof Error ? err : new Error(String(err)))
        })
      },
      { runOnLimitedConnection: true, maxInboundStreams: MAX_DIRECTORY_STREAMS }
    )
    this.sweeper = setInterval(() => this.sweep(), this.init.sweepIntervalMs ?? 1000)
    this.sweeper.unref?.()
    this.started = true
  }

  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    clearInterval(this.sweeper)
    for (const w of this.watchers) w.stream.abort(new MeshError('UNAVAILABLE', 'the relay is stopping'))
    this.watchers.clear()
    await this.components.registrar.unhandle(DIRECTORY_PROTOCOL)
  }

  /**
   * The live record of `name`, if any. A held record whose naming right was revoked since it was
   * stored is dropped here (and watchers told it expired), so it is never served again.
   */
  get(name: string, now = Date.now()): NameRecord | undefined {
    const record = this.records.get(name)
    if (record === undefined || record.exp <= now) return undefined
    if (isLive(record, this.init.revoked, now)) return record
    this.drop(name)
    return undefined
  }

  /** Records held (live or awaiting the next sweep). */
  get size(): number {
    return this.records.size
  }

  /**
   * Verify and store a signed record, as a registration by `peer` does.
   *
   * A held record of the name is checked again first: once its naming right is revoked or expired
   * it no longer blocks a newer holder, whatever its `seq`.
   *
   * @returns the stored record
   * @throws {MeshError} the reason it was refused
   */
  store(value: unknown, peer: string): NameRecord {
    const record = verifyNameRecord(value, {
      trust: this.init.trust,
      ...(this.init.revoked === undefined ? {} : { revoked: this.init.revoked })
    })
    if (record.peer !== peer) {
      throw new MeshError('PERMISSION_DENIED', 'only the named agent itself may register its record')
    }
    const held = this.get(record.name)
    if (!isNewer(record, held)) {
      if (held !== undefined && held.seq === record.seq && held.peer === record.peer) return held
      throw new MeshError('ALREADY_EXISTS', `a newer record of ${record.name} is held (seq ${held?.seq})`, {
        details: { seq: held?.seq }
      })
    }
    this.records.set(record.name, record)
    this.notify({ v: DIRECTORY_VERSION, type: 'event', kind: 'update', name: record.name, record: record.signed })
    return record
  }

  private async onStream(stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(DIRECTORY_TIMEOUT_MS)
    let request: DirectoryRequest
    try {
      request = parseRequest(await readMessage(stream, MAX_DIRECTORY_MESSAGE_BYTES, { signal }))
    } catch (err) {
      await this.answer(stream, this.errorAnswer(err), signal)
      return
    }
    if (request.type === 'watch') {
      await this.watch(stream, connection, request.prefix)
      return
    }
    let answer: DirectoryAnswer
    try {
      answer = this.handleRequest(request, connection)
    } catch (err) {
      answer = this.errorAnswer(err)
    }
    await this.answer(stream, answer, signal)
  }

  private handleRequest(request: Exclude<DirectoryRequest, { type: 'watch' }>, connection: Connection): DirectoryAnswer {
    const peer = connection.remotePeer.toString()
    switch (request.type) {
      case 'resolve': {
        assertName(request.name)
        const record = this.get(request.name)
        if (record === undefined) throw new MeshError('NOT_FOUND', `no agent is registered as ${request.name}`)
        return { v: DIRECTORY_VERSION, type: 'record', record: record.signed }
      }
      case 'list': {
        const limit = Math.min(request.limit ?? MAX_LIST_RESULTS, MAX_LIST_RESULTS)
        const now = Date.now()
        const records = []
        for (const record of this.records.values()) {
          if (records.length >= limit) break
          if (underPrefix(record.name, request.prefix) && this.get(record.name, now) !== undefined) records.push(record.signed)
        }
        return { v: DIRECTORY_VERSION, type: 'list', records }
      }
      case 'register': {
        if (!this.limiter.take(peer)) {
          throw new MeshError('RESOURCE_EXHAUSTED', 'too many registrations from this peer; slow down')
        }
        const record = this.store(request.record, peer)
        this.log('registered %s (seq %d) for %p', record.name, record.seq, connection.remotePeer)
        return { v: DIRECTORY_VERSION, type: 'registered', exp: record.exp, seq: record.seq }
      }
    }
  }

  private async watch(stream: Stream, connection: Connection, prefix: string): Promise<void> {
    const count = this.watchCount.get(connection) ?? 0
    if (count >= MAX_WATCHES_PER_CONNECTION) {
      const err = new MeshError('RESOURCE_EXHAUSTED', `at most ${MAX_WATCHES_PER_CONNECTION} watches per connection`)
      await this.answer(stream, this.errorAnswer(err), AbortSignal.timeout(DIRECTORY_TIMEOUT_MS))
      return
    }
    this.watchCount.set(connection, count + 1)
    const watcher: Watcher = { prefix, stream }
    this.watchers.add(watcher)
    try {
      // the watch lasts until the watcher closes its side or resets the stream
      for await (const _ of pipe(stream, decodeMessages({ maxBytes: 16 }))) {
        // watchers send nothing; anything sent is ignored
      }
    } catch {
      // reset by the watcher: the watch is over
    } finally {
      this.watchers.delete(watcher)
      this.watchCount.set(connection, (this.watchCount.get(connection) ?? 1) - 1)
      if (stream.status === 'open') await stream.close().catch(() => {})
    }
  }

  private notify(event: WatchEvent): void {
    if (this.watchers.size === 0) return
    const bytes = encodeMessage(event)
    for (const w of this.watchers) {
      if (!underPrefix(event.name, w.prefix)) continue
      if (w.stream.status !== 'open' || w.stream.writeStatus !== 'writable') continue
      // a watcher that does not read is dropped rather than buffered without bound
      if (w.stream.writableNeedsDrain) {
        w.stream.abort(new MeshError('RESOURCE_EXHAUSTED', 'the watcher does not keep up'))
        continue
      }
      w.stream.send(bytes)
    }
  }

  private sweep(now = Date.now()): void {
    for (const [name, record] of this.records) {
      if (!isLive(record, this.init.revoked, now)) this.drop(name)
    }
  }

  /** Forget the record of `name` and tell watchers it is gone. */
  private drop(name: string): void {
    this.records.delete(name)
    this.notify({ v: DIRECTORY_VERSION, type: 'event', kind: 'expire', name })
  }

  private errorAnswer(err: unknown): DirectoryAnswer {
    const meshErr = MeshError.from(err, 'INVALID_ARGUMENT')
    return { v: DIRECTORY_VERSION, type: 'err', code: meshErr.code, message: meshErr.message }
  }

  private async answer(stream: Stream, answer: DirectoryAnswer, signal: AbortSignal): Promise<void> {
    if (stream.status !== 'open') return
    await writeMessage(stream, answer, { signal })
    await stream.close({ signal }).catch(() => {})
  }
}

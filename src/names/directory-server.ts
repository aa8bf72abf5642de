import { MeshError } from '../errors.ts'
import {
  DIRECTORY_PROTOCOL,
  DIRECTORY_TIMEOUT_MS,
  DIRECTORY_VERSION,
  MAX_DIRECTORY_MESSAGE_BYTES,
  MAX_DIRECTORY_STREAMS,
  MAX_RECORD_TTL_MS
} from './constants.ts'
import { readMessage, writeMessage } from './exchange.ts'
import { type DirectoryAnswer, type NameRecord, parseRequest } from './messages.ts'
import { assertName } from './syntax.ts'
import type { ComponentLogger, Connection, Logger, Startable, Stream } from '@libp2p/interface'

/** The part of a libp2p node the directory server needs. */
export interface DirectoryServerComponents {
  registrar: {
    handle(
      protocol: string,
      handler: (stream: Stream, connection: Connection) => void,
      options?: object
    ): Promise<void>
    unhandle(protocol: string): Promise<void>
  }
  logger: ComponentLogger
}

/**
 * Serves `/agentmesh/dir/1` on a relay: agents register their name and addresses, anyone resolves.
 *
 * A registration binds a name to the PeerId that the connection's noise handshake proved, so a
 * peer can only register addresses for itself, and a live name cannot be taken by another peer.
 * Signed records and naming rights come with the names layer proper.
 */
export class DirectoryServer implements Startable {
  private readonly components: DirectoryServerComponents
  private readonly log: Logger
  private readonly records = new Map<string, NameRecord>()
  private started = false

  constructor(components: DirectoryServerComponents) {
    this.components = components
    this.log = components.logger.forComponent('agentmesh:dir:server')
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
    this.started = true
  }

  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    await this.components.registrar.unhandle(DIRECTORY_PROTOCOL)
  }

  /** The live record of `name`, if any. */
  get(name: string, now = Date.now()): NameRecord | undefined {
    const record = this.records.get(name)
    if (record === undefined) return undefined
    if (record.exp <= now) {
      this.records.delete(name)
      return undefined
    }
    return record
  }

  /** Number of records held, live or not yet swept. */
  get size(): number {
    return this.records.size
  }

  private async onStream(stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(DIRECTORY_TIMEOUT_MS)
    let answer: DirectoryAnswer
    try {
      const request = parseRequest(await readMessage(stream, MAX_DIRECTORY_MESSAGE_BYTES))
      assertName(request.name)
      if (request.type === 'resolve') {
        const record = this.get(request.name)
        if (record === undefined)
          throw new MeshError('NOT_FOUND', `no agent is registered as ${request.name}`)
        answer = { v: DIRECTORY_VERSION, type: 'record', record }
      } else {
        const peer = connection.remotePeer.toString()
        const held = this.get(request.name)
        if (held !== undefined && held.peer !== peer) {
          throw new MeshError('PERMISSION_DENIED', `${request.name} is held by another peer`)
        }
        const exp = Date.now() + Math.min(request.ttl, MAX_RECORD_TTL_MS)
        this.records.set(request.name, { name: request.name, peer, addrs: request.addrs, exp })
        this.log('registered %s for %p until %d', request.name, connection.remotePeer, exp)
        answer = { v: DIRECTORY_VERSION, type: 'registered', exp }
      }
    } catch (err) {
      const meshErr = MeshError.from(err, 'INVALID_ARGUMENT')
      answer = { v: DIRECTORY_VERSION, type: 'err', code: meshErr.code, message: meshErr.message }
    }
    await writeMessage(stream, answer, { signal })
    await stream.close({ signal })
  }
}

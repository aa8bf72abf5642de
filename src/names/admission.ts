import type { Connection, Logger, PeerId, Stream } from '@libp2p/interface'
import { MeshError } from '../errors.ts'
import type { RevocationStore } from '../ucan/index.ts'
import {
  ADMISSION_PROTOCOL,
  ADMISSION_TTL_MS,
  DIRECTORY_TIMEOUT_MS,
  DIRECTORY_VERSION,
  MAX_ADMISSION_ENTRIES,
  MAX_DIRECTORY_MESSAGE_BYTES
} from './constants.ts'
import { writeMessage } from '../rpc/codec.ts'
import { readMessage } from './exchange.ts'
import { isLive, type NameRecord, type SignedNameRecord, verifyNameRecord } from './record.ts'

/** What relay admission needs: the open connection to a peer asking for a reservation. */
export interface AdmissionComponents {
  connectionTo(peer: PeerId): Connection | undefined
  log: Logger
}

/** Options of {@link RelayAdmission}. */
export interface AdmissionInit {
  /** Trusted authorities: organisation → did. */
  trust: Readonly<Record<string, string>>
  /** PeerIds admitted without a naming right (for example other relays or operators' tools). */
  allow?: Iterable<string>
  revoked?: RevocationStore
}

/**
 * Decides which peers a relay reserves circuit slots for: those on the allow list, and those that
 * prove a naming right from a trusted authority. The relay asks the peer itself, over the connection
 * it reserved from, on `/agentmesh/admit/1`; the peer answers with its signed name record, which must
 * be signed by that very peer. Everyone else is refused: the relay is never an open proxy.
 *
 * An admission is remembered until the record or its naming right ends, and at most
 * 5 minutes (`ADMISSION_TTL_MS`); a remembered one is not used again once its right is revoked (it is
 * checked at the peer's next reservation or renewal; one granted already runs until then). At most
 * 10,000 (`MAX_ADMISSION_ENTRIES`) admissions and refusals are remembered, the oldest forgotten first.
 */
export class RelayAdmission {
  private readonly components: AdmissionComponents
  private readonly init: AdmissionInit
  private readonly allow: Set<string>
  private readonly admitted = new Map<string, Pick<NameRecord, 'exp' | 'rights'>>()
  /** Why the last refusal of each peer happened, for operators and tests (the latest 10,000, `MAX_ADMISSION_ENTRIES`). */
  readonly refusals = new Map<string, string>()

  constructor(components: AdmissionComponents, init: AdmissionInit) {
    this.components = components
    this.init = init
    this.allow = new Set(init.allow ?? [])
  }

  /** True when `peer` may hold a reservation. Never throws. */
  async admits(peer: PeerId): Promise<boolean> {
    const id = peer.toString()
    if (this.allow.has(id)) return true
    const held = this.admitted.get(id)
    if (held !== undefined) {
      if (isLive(held, this.init.revoked)) return true
      this.admitted.delete(id)
    }
    try {
      const connection = this.components.connectionTo(peer)
      if (connection === undefined) throw new MeshError('UNAVAILABLE', 'no connection to the peer')
      const record = await askForRecord(connection)
      const verified = verifyNameRecord(record, {
        trust: this.init.trust,
        ...(this.init.revoked === undefined ? {} : { revoked: this.init.revoked })
      })
      if (verified.peer !== id) throw new MeshError('PERMISSION_DENIED', 'the record was signed by another peer')
      remember(this.admitted, id, { exp: Math.min(verified.exp, Date.now() + ADMISSION_TTL_MS), rights: verified.rights })
      this.refusals.delete(id)
      this.components.log('admitted %p as %s', peer, verified.name)
      return true
    } catch (err) {
      const reason = (err as Error).message
      remember(this.refusals, id, reason)
      this.components.log('refused a reservation to %p: %s', peer, reason)
      return false
    }
  }

  /** Peers admitted (remembered, until their admission ends or is next checked). */
  get size(): number {
    return this.admitted.size
  }
}

/** Set `key` in `map` as its newest entry, forgetting the oldest beyond {@link MAX_ADMISSION_ENTRIES}. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key)
  map.set(key, value)
  for (const oldest of map.keys()) {
    if (map.size <= MAX_ADMISSION_ENTRIES) break
    map.delete(oldest)
  }
}

async function askForRecord(connection: Connection): Promise<unknown> {
  const signal = AbortSignal.timeout(DIRECTORY_TIMEOUT_MS)
  let stream: Stream
  try {
    stream = await connection.newStream(ADMISSION_PROTOCOL, { signal, runOnLimitedConnection: true })
  } catch (err) {
    throw new MeshError('PERMISSION_DENIED', `the peer offers no naming right: ${(err as Error).message}`)
  }
  try {
    await stream.close({ signal })
    const answer = (await readMessage(stream, MAX_DIRECTORY_MESSAGE_BYTES, { signal })) as { v?: unknown; record?: unknown }
    if (typeof answer !== 'object' || answer === null || answer.v !== DIRECTORY_VERSION) {
      throw new MeshError('PERMISSION_DENIED', 'malformed admission answer')
    }
    return answer.record
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

/** The agent's side: answer a relay's admission request with the agent's signed record. */
export async function answerAdmission(stream: Stream, record: SignedNameRecord): Promise<void> {
  const signal = AbortSignal.timeout(DIRECTORY_TIMEOUT_MS)
  await writeMessage(stream, { v: DIRECTORY_VERSION, record }, { signal })
  await stream.close({ signal })
}

export { ADMISSION_PROTOCOL }

import type { Connection, Logger, Stream } from '@libp2p/interface'
import { MeshError } from '../errors.ts'
import type { Ed25519Signer } from '../identity/index.ts'
import type { Delegation } from '../ucan/index.ts'
import { answerAdmission } from './admission.ts'
import { registerRecord } from './directory-client.ts'
import { type SignedNameRecord, signNameRecord } from './record.ts'

/** What an agent's name registration needs from its node. */
export interface NameRegistrationComponents {
  /** Open (or reuse) a connection to the relay at `addr`. */
  dial(addr: string): Promise<Connection>
  /** The agent's circuit addresses now. */
  addrs(): string[]
  log: Logger
}

/** Options of a {@link NameRegistration}. */
export interface NameRegistrationInit {
  signer: Ed25519Signer
  name: string
  /** Relays to register on. */
  relays: string[]
  /** Lifetime of each record, in ms; the record is renewed at half of it. */
  ttl: number
  /** The delegations among which the naming right is found (read at each signing). */
  proofs(): Delegation[]
}

/**
 * An agent's name on its relays: signs a fresh record (with a `seq` that only grows) for the
 * current circuit addresses, registers it on every relay, renews it at half its life, and answers
 * relays' admission requests with it.
 */
export class NameRegistration {
  private readonly components: NameRegistrationComponents
  private readonly init: NameRegistrationInit
  private seq = 0
  private timer: ReturnType<typeof setTimeout> | undefined
  /** The record last signed. */
  record: SignedNameRecord | undefined

  private constructor(components: NameRegistrationComponents, init: NameRegistrationInit) {
    this.components = components
    this.init = init
  }

  /**
   * Check the agent holds the right to its name (by signing a first record, with no address yet).
   *
   * @throws {MeshError} `PERMISSION_DENIED` when the proofs hold no naming right for the name
   */
  static async create(components: NameRegistrationComponents, init: NameRegistrationInit): Promise<NameRegistration> {
    const registration = new NameRegistration(components, init)
    registration.record = await registration.sign([])
    return registration
  }

  /** Sign a record of the current addresses and register it on every relay; one success is enough. */
  async register(): Promise<void> {
    const addrs = this.components.addrs()
    if (addrs.length === 0) throw new MeshError('UNAVAILABLE', 'no relay granted a reservation')
    const signed = await this.sign(addrs)
    this.record = signed
    const results = await Promise.allSettled(
      this.init.relays.map(async (relay) => registerRecord(await this.components.dial(relay), signed))
    )
    if (!results.some((r) => r.status === 'fulfilled')) {
      throw MeshError.from(results.find((r) => r.status === 'rejected')?.reason, 'UNAVAILABLE')
    }
  }

  /** Renew the record at half its life until {@link stop}. */
  start(): void {
    this.timer = setTimeout(() => {
      this.register()
        .catch((err: unknown) => this.components.log('renewal failed - %e', err))
        .finally(() => {
          if (this.timer !== undefined) this.start()
        })
    }, this.init.ttl / 2)
    this.timer.unref?.()
  }

  stop(): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }

  /** Answer a relay's admission request on `stream` with the current record. */
  answerAdmission(stream: Stream): void {
    if (this.record === undefined) {
      stream.abort(new MeshError('PERMISSION_DENIED', 'this peer holds no name'))
      return
    }
    answerAdmission(stream, this.record).catch((err: unknown) => stream.abort(err as Error))
  }

  private sign(addrs: string[]): Promise<SignedNameRecord> {
    this.seq = Math.max(this.seq + 1, Date.now())
    const { signer, name, ttl } = this.init
    return signNameRecord({ signer, name, addrs, seq: this.seq, ttl, proofs: this.init.proofs() })
  }
}

import type { CID } from 'multiformats/cid'
import { CID as CIDClass } from 'multiformats/cid'
import type { Signer } from '../identity/signer.ts'
import { isMap, tokenCid } from './cbor.ts'
import { assertCommand, isCommand, isReservedCommand } from './command.ts'
import { INVOCATION_TAG, INVOCATION_TAGS } from './constants.ts'
import type { Delegation } from './delegation.ts'
import { decodeEnvelope, type Envelope, sealEnvelope } from './envelope.ts'
import { UcanError } from './errors.ts'
import {
  checkTimestamp,
  generateNonce,
  isDid,
  readDid,
  readExpiration,
  readIssuer,
  readNonce,
  readOptionalDid,
  readOptionalLink,
  readOptionalMap,
  readOptionalTimestamp
} from './fields.ts'
import { isIpld } from './values.ts'

/** The payload of an invocation (`ucan/inv@1.0.0`). */
export interface InvocationPayload {
  /** The invoker (signs the token). */
  readonly iss: string
  /** The subject being invoked: the chain's root authority. */
  readonly sub: string
  /** The intended executor, when not the subject. */
  readonly aud?: string
  /** The command. */
  readonly cmd: string
  /** The command's arguments, checked against every policy of the chain. */
  readonly args: Record<string, unknown>
  /** The delegation chain, root first, as CIDs. */
  readonly prf: readonly CID[]
  readonly meta?: Record<string, unknown>
  readonly nonce: Uint8Array
  /** Expiry (Unix seconds) or `null`. */
  readonly exp: number | null
  /** Issued-at claim (Unix seconds); informative only. */
  readonly iat?: number
  /** The receipt that caused this invocation. */
  readonly cause?: CID
}

/** A decoded (or freshly made) invocation. Its signature is checked by {@link validate}. */
export interface Invocation {
  readonly type: 'invocation'
  readonly cid: CID
  readonly bytes: Uint8Array
  readonly tag: string
  readonly signature: Uint8Array
  readonly signedBytes: Uint8Array
  readonly payload: InvocationPayload
}

/** What {@link invoke} needs. */
export interface InvokeOptions {
  /** The invoker (signs). */
  issuer: Signer
  /** The subject: the chain's root authority (the issuer itself when there are no proofs). */
  subject: string
  /** The executor, when not the subject. */
  audience?: string
  command: string
  /** @default {} */
  args?: Record<string, unknown>
  /** The delegation chain, root first (tokens or CIDs). @default [] */
  proofs?: ReadonlyArray<Delegation | CID>
  /** Expiry in Unix seconds, or `null`. */
  expiration: number | null
  /** Issued-at in Unix seconds. */
  issuedAt?: number
  meta?: Record<string, unknown>
  nonce?: Uint8Array
  cause?: CID
  /** Allow commands in the reserved `/ucan` namespace. @default false */
  allowReserved?: boolean
}

/**
 * Create and sign an invocation.
 *
 * @example
 * ```ts
 * const inv = await invoke({
 *   issuer: orchestrator,
 *   subject: authority.did,
 *   command: '/k8s/scale',
 *   args: { replicas: 3 },
 *   proofs: [rootDelegation, delegationToOrchestrator],
 *   expiration: Math.floor(Date.now() / 1000) + 60
 * })
 * ```
 */
export async function invoke(options: InvokeOptions): Promise<Invocation> {
  const {
    issuer,
    subject,
    audience,
    command,
    args = {},
    proofs = [],
    expiration,
    issuedAt,
    meta,
    cause
  } = options
  if (!isDid(subject)) throw new UcanError('MalformedToken', '`subject` must be a DID')
  if (audience !== undefined && !isDid(audience))
    throw new UcanError('MalformedToken', '`audience` must be a DID')
  assertCommand(command)
  if (isReservedCommand(command) && options.allowReserved !== true) {
    throw new UcanError('InvalidCommand', `${command} is in the reserved /ucan namespace`)
  }
  if (!isMap(args) || !isIpld(args)) throw new UcanError('MalformedToken', '`args` must be an IPLD map')
  if (meta !== undefined && !isIpld(meta)) throw new UcanError('MalformedToken', '`meta` must be an IPLD map')
  if (expiration !== null) checkTimestamp('expiration', expiration)
  if (issuedAt !== undefined) checkTimestamp('issuedAt', issuedAt)
  const payload: Record<string, unknown> = {
    iss: issuer.did,
    sub: subject,
    cmd: command,
    args,
    prf: proofs.map((p) => ('type' in p && p.type === 'delegation' ? p.cid : (p as CID))),
    nonce: options.nonce ?? generateNonce(),
    exp: expiration
  }
  if (audience !== undefined) payload['aud'] = audience
  if (issuedAt !== undefined) payload['iat'] = issuedAt
  if (meta !== undefined) payload['meta'] = meta
  if (cause !== undefined) payload['cause'] = cause
  const bytes = await sealEnvelope(INVOCATION_TAG, payload, issuer)
  return decodeInvocation(bytes)
}

/**
 * Decode invocation bytes, checking their shape but not the signature. Throws `MalformedToken`.
 *
 * @example
 * ```ts
 * decodeInvocation(bytes).payload.args // { replicas: 3 }
 * ```
 */
export function decodeInvocation(bytes: Uint8Array): Invocation {
  return invocationFromEnvelope(decodeEnvelope(bytes, INVOCATION_TAGS))
}

/** Build a invocation from an already decoded envelope; throws `MalformedToken`. */
export function invocationFromEnvelope(envelope: Envelope): Invocation {
  const bytes = envelope.bytes
  const p = envelope.payload
  const cmd = p['cmd']
  if (!isCommand(cmd)) throw new UcanError('MalformedToken', '`cmd` must be a valid command')
  const args = p['args']
  if (!isMap(args)) throw new UcanError('MalformedToken', '`args` must be a map')
  const prf = p['prf']
  if (!Array.isArray(prf)) throw new UcanError('MalformedToken', '`prf` must be a list of CIDs')
  const links: CID[] = []
  for (const item of prf) {
    const cid = CIDClass.asCID(item)
    if (cid === null) throw new UcanError('MalformedToken', '`prf` must be a list of CIDs')
    links.push(cid)
  }
  const aud = readOptionalDid(p, 'aud')
  const iat = readOptionalTimestamp(p, 'iat')
  const meta = readOptionalMap(p, 'meta')
  const cause = readOptionalLink(p, 'cause')
  const payload: InvocationPayload = {
    iss: readIssuer(p),
    sub: readDid(p, 'sub'),
    cmd,
    args,
    prf: links,
    nonce: readNonce(p),
    exp: readExpiration(p),
    ...(aud === undefined ? {} : { aud }),
    ...(iat === undefined ? {} : { iat }),
    ...(meta === undefined ? {} : { meta }),
    ...(cause === undefined ? {} : { cause })
  }
  return {
    type: 'invocation',
    cid: tokenCid(bytes),
    bytes,
    tag: envelope.tag,
    signature: envelope.signature,
    signedBytes: envelope.signedBytes,
    payload
  }
}

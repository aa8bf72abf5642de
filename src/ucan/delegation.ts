import type { CID } from 'multiformats/cid'
import type { Signer } from '../identity/signer.ts'
import { tokenCid } from './cbor.ts'
import { assertCommand, isCommand, isReservedCommand } from './command.ts'
import { DELEGATION_TAG, DELEGATION_TAGS } from './constants.ts'
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
  readOptionalMap,
  readOptionalTimestamp
} from './fields.ts'
import { type ParsedPolicy, type Policy, parsePolicy } from './policy.ts'
import { isIpld } from './values.ts'

/** The payload of a delegation (`ucan/dlg@1.0.0`). */
export interface DelegationPayload {
  /** Issuer: the principal delegating (signs the token). */
  readonly iss: string
  /** Audience: the principal receiving the authority. */
  readonly aud: string
  /** Subject: the principal the chain is about; `null` is a powerline (any subject). */
  readonly sub: string | null
  /** Command delegated, with everything under it. */
  readonly cmd: string
  /** Policy every eventual invocation's `args` must satisfy. */
  readonly pol: Policy
  /** Nonce. */
  readonly nonce: Uint8Array
  /** Expiry (Unix seconds) or `null` for none. */
  readonly exp: number | null
  /** Not-before (Unix seconds). */
  readonly nbf?: number
  /** Signed metadata that carries no authority. */
  readonly meta?: Record<string, unknown>
}

/** A decoded (or freshly made) delegation. Its signature is checked by {@link validate}. */
export interface Delegation {
  readonly type: 'delegation'
  /** The token id: CIDv1 (dag-cbor, sha2-256) of `bytes`. */
  readonly cid: CID
  /** The envelope bytes. */
  readonly bytes: Uint8Array
  /** The envelope tag it was read with (`ucan/dlg@1.0.0` or an older accepted one). */
  readonly tag: string
  readonly signature: Uint8Array
  /** The bytes the signature covers. */
  readonly signedBytes: Uint8Array
  readonly payload: DelegationPayload
  /** `payload.pol`, parsed. */
  readonly policy: ParsedPolicy
}

/** What {@link delegate} needs. */
export interface DelegateOptions {
  /** Who delegates (and signs). */
  issuer: Signer
  /** Who receives the authority (a DID). */
  audience: string
  /** The subject: the issuer itself for a root delegation, the chain's subject, or `null` (powerline). */
  subject: string | null
  /** The command delegated, e.g. `/k8s/scale`. */
  command: string
  /** The policy constraining `args`. @default [] */
  policy?: Policy
  /** Expiry in Unix seconds, or `null` for a delegation that never expires. */
  expiration: number | null
  /** Not-before in Unix seconds. */
  notBefore?: number
  /** Signed metadata. */
  meta?: Record<string, unknown>
  /** Nonce. @default 12 random bytes */
  nonce?: Uint8Array
  /** Allow commands in the reserved `/ucan` namespace. @default false */
  allowReserved?: boolean
}

/**
 * Create and sign a delegation.
 *
 * @example
 * ```ts
 * const dlg = await delegate({
 *   issuer: authority,
 *   audience: agent.did,
 *   subject: authority.did,
 *   command: '/agentmesh/name',
 *   policy: [['==', '.name', 'acme/prod/k8s']],
 *   expiration: Math.floor(Date.now() / 1000) + 86400
 * })
 * dlg.cid.toString() // 'bafyrei…'
 * ```
 */
export async function delegate(options: DelegateOptions): Promise<Delegation> {
  const { issuer, audience, subject, command, policy = [], expiration, notBefore, meta } = options
  if (!isDid(audience)) throw new UcanError('MalformedToken', '`audience` must be a DID')
  if (subject !== null && !isDid(subject))
    throw new UcanError('MalformedToken', '`subject` must be a DID or null')
  assertCommand(command)
  if (isReservedCommand(command) && options.allowReserved !== true) {
    throw new UcanError('InvalidCommand', `${command} is in the reserved /ucan namespace`)
  }
  parsePolicy(policy)
  if (expiration !== null) checkTimestamp('expiration', expiration)
  if (notBefore !== undefined) checkTimestamp('notBefore', notBefore)
  if (meta !== undefined && !isIpld(meta)) throw new UcanError('MalformedToken', '`meta` must be an IPLD map')
  const payload: Record<string, unknown> = {
    iss: issuer.did,
    aud: audience,
    sub: subject,
    cmd: command,
    pol: policy,
    nonce: options.nonce ?? generateNonce(),
    exp: expiration
  }
  if (notBefore !== undefined) payload['nbf'] = notBefore
  if (meta !== undefined) payload['meta'] = meta
  const bytes = await sealEnvelope(DELEGATION_TAG, payload, issuer)
  return decodeDelegation(bytes)
}

/**
 * Decode delegation bytes, checking their shape but not the signature (see {@link validate} and
 * {@link verifySignature}). Throws `MalformedToken` on anything unreadable.
 *
 * @example
 * ```ts
 * const dlg = decodeDelegation(bytes)
 * dlg.payload.cmd // '/msg/send'
 * ```
 */
export function decodeDelegation(bytes: Uint8Array): Delegation {
  return delegationFromEnvelope(decodeEnvelope(bytes, DELEGATION_TAGS))
}

/** Build a delegation from an already decoded envelope; throws `MalformedToken`. */
export function delegationFromEnvelope(envelope: Envelope): Delegation {
  const bytes = envelope.bytes
  const p = envelope.payload
  const sub = p['sub']
  if (!Object.hasOwn(p, 'sub') || (sub !== null && !isDid(sub))) {
    throw new UcanError('MalformedToken', '`sub` must be a DID or null')
  }
  const cmd = p['cmd']
  if (!isCommand(cmd)) throw new UcanError('MalformedToken', '`cmd` must be a valid command')
  let policy: ParsedPolicy
  try {
    policy = parsePolicy(p['pol'])
  } catch (err) {
    throw new UcanError('MalformedToken', '`pol` is not a valid policy', { cause: err })
  }
  const payload: DelegationPayload = {
    iss: readIssuer(p),
    aud: readDid(p, 'aud'),
    sub: sub as string | null,
    cmd,
    pol: policy.source,
    nonce: readNonce(p),
    exp: readExpiration(p),
    ...optional('nbf', readOptionalTimestamp(p, 'nbf')),
    ...optional('meta', readOptionalMap(p, 'meta'))
  }
  return {
    type: 'delegation',
    cid: tokenCid(bytes),
    bytes,
    tag: envelope.tag,
    signature: envelope.signature,
    signedBytes: envelope.signedBytes,
    payload,
    policy
  }
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V }
}

import type { Connection } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import { MeshError } from '../errors.ts'
import type { AuthorizationRequest, CallAuthorizer, Grant } from '../rpc/index.ts'
import {
  type Delegation,
  findChain,
  type RevocationStore,
  UcanCache,
  UcanError,
  type ValidatedChain,
  validate,
  validateChain
} from '../ucan/index.ts'
import { type AuditEvent, type AuditSink, argsDigest } from './audit.ts'
import { callerOf, chainsOf, grants, keepTokens, keptTokens, stageTokens } from './connection-state.ts'
import { GRANTS_PER_CONNECTION, MAX_PROOFS_PER_CALL, MAX_REPLAY_ENTRIES } from './constants.ts'
import type { LocalPolicy } from './local-policy.ts'

/** The `auth` field of a request, as the UCAN authorizer reads it. */
export interface UcanAuth {
  /** The caller's delegation chain, root first, by CID. */
  prf?: CID[]
  /**
   * Delegation tokens the caller presents now. Kept for later calls on the same connection once this
   * call's chain validates (rooted in a trusted authority, delegated to the caller); dropped otherwise.
   */
  dlg?: Uint8Array[]
  /** A fully signed invocation, for intermediaries and audit trails; `prf` is then taken from it. */
  inv?: Uint8Array
}

/** Options of {@link ucanAuthorizer}. */
export interface UcanAuthorizerInit {
  /** Trusted authorities: organisation → `did:key`. A chain must be rooted in one of them. */
  trust: Record<string, string>
  /** The agent's own did; a signed invocation must be addressed to it. */
  agentDid: string
  /** The agent's local policy, applied after the UCAN chain allows. @default allow what the chain allows */
  localPolicy?: LocalPolicy
  /** Where every decision goes. @default none */
  audit?: AuditSink
  /** Revoked delegations. */
  revoked?: RevocationStore
  /** Verified-token cache. @default one per authorizer */
  cache?: UcanCache
  /** Clock skew tolerated on `exp`/`nbf`, in seconds. */
  clockSkew?: number
}

function denied(err: unknown): MeshError {
  if (err instanceof UcanError) {
    return new MeshError('PERMISSION_DENIED', `${err.reason}: ${err.message}`, {
      details: { reason: err.reason, ...err.details }
    })
  }
  if (MeshError.is(err)) return err.code === 'PERMISSION_DENIED' ? err : new MeshError('PERMISSION_DENIED', err.message)
  return new MeshError('PERMISSION_DENIED', 'the capability could not be checked')
}

function parseAuth(auth: unknown): UcanAuth {
  if (auth === undefined || auth === null) {
    throw new UcanError('InvalidClaim', 'the call carries no capability (auth.prf or auth.inv)')
  }
  if (typeof auth !== 'object' || Array.isArray(auth)) throw new UcanError('MalformedToken', 'auth must be a map')
  const { prf, dlg, inv } = auth as Record<string, unknown>
  if (prf !== undefined && (!Array.isArray(prf) || prf.length > MAX_PROOFS_PER_CALL || !prf.every(isCid))) {
    throw new UcanError('MalformedToken', `auth.prf must be a list of at most ${MAX_PROOFS_PER_CALL} CIDs`)
  }
  if (
    dlg !== undefined &&
    (!Array.isArray(dlg) || dlg.length > MAX_PROOFS_PER_CALL || !dlg.every((d) => d instanceof Uint8Array))
  ) {
    throw new UcanError('MalformedToken', `auth.dlg must be a list of at most ${MAX_PROOFS_PER_CALL} tokens`)
  }
  if (inv !== undefined && !(inv instanceof Uint8Array)) throw new UcanError('MalformedToken', 'auth.inv must be bytes')
  return auth as UcanAuth
}


function isCid(value: unknown): value is CID {
  return CID.asCID(value) !== null
}

/**
 * The default authorizer of an agent: deny by default; a call runs only when its UCAN chain is valid,
 * rooted in a trusted authority, delegated to the connection's proven peer, unexpired, unrevoked and
 * its arguments satisfy every policy of the chain, and the local policy agrees. Derived actions get
 * the same check against the caller's chain, never against the agent's own rights. Every decision
 * is an audit event.
 *
 * @example
 * ```ts
 * const authorizer = ucanAuthorizer({ trust: { acme: authority.did }, agentDid: agent.did, audit: jsonLinesAuditSink('audit.jsonl') })
 * ```
 */
export function ucanAuthorizer(init: UcanAuthorizerInit): CallAuthorizer {
  const trusted = new Set(Object.values(init.trust))
  const cache = init.cache ?? new UcanCache()
  const replay = new Map<string, number>()
  const clock = init.clockSkew === undefined ? {} : { clockSkew: init.clockSkew }

  /** Send an event to the audit sink; the event is only built when there is a sink. */
  const emit = (build: () => Omit<AuditEvent, 'time'>): void => {
    if (init.audit === undefined) return
    try {
      init.audit({ time: new Date().toISOString(), ...build() })
    } catch {
      // an audit sink that throws must not turn a decision around
    }
  }



  const checkReplay = (cid: string, exp: number | null): void => {
    const now = Date.now()
    if (replay.size >= MAX_REPLAY_ENTRIES) {
      for (const [key, until] of replay) if (until <= now) replay.delete(key)
      if (replay.size >= MAX_REPLAY_ENTRIES) replay.delete(replay.keys().next().value as string)
    }
    if (replay.has(cid)) throw new UcanError('InvalidClaim', 'this signed invocation was already used (replay)')
    replay.set(cid, exp === null ? now + 24 * 3600_000 : exp * 1000 + 60_000)
  }

  /** The local policy's verdict: nothing to wait for without one, else a promise that rejects on a refusal. */
  const askLocal = (
    phase: 'request' | 'action',
    intent: string,
    cmd: string,
    args: unknown,
    caller: { peer: string; did: string },
    chain: ValidatedChain
  ): Promise<void> | undefined => {
    const localPolicy = init.localPolicy
    if (localPolicy === undefined) return undefined
    return (async () => {
      let verdict: boolean | string
      try {
        verdict = await localPolicy({ phase, intent, cmd, args, caller, chain })
      } catch {
        verdict = 'the local policy failed'
      }
      if (verdict !== true) {
        throw new MeshError('PERMISSION_DENIED', `local policy: ${typeof verdict === 'string' ? verdict : 'refused'}`, {
          details: { reason: 'LocalPolicy' }
        })
      }
    })()
  }

  /** The chain of a signed invocation, once its signature, audience, command, arguments and freshness are checked. */
  const signedChain = async (
    request: AuthorizationRequest,
    caller: { peer: string; did: string },
    inv: Uint8Array,
    store: ReadonlyMap<string, Delegation>
  ): Promise<ValidatedChain> => {
    const validated = await validate(inv, {
      proofs: store,
      trusted,
      revoked: init.revoked,
      cache,
      audience: init.agentDid,
      ...clock
    })
    if (validated.issuer !== caller.did) {
      throw new UcanError('InvalidAudience', 'the invocation was signed by another principal than the caller')
    }
    if (validated.command !== request.cmd) {
      throw new UcanError('InvalidClaim', 'the signed invocation is for another command')
    }
    if (argsDigest(validated.args) !== argsDigest(request.rawArgs)) {
      throw new UcanError('InvalidClaim', 'the signed invocation is for other arguments')
    }
    checkReplay(validated.invocation.cid.toString(), validated.invocation.payload.exp)
    return validated.chain
  }

  /**
   * The caller's chain for `request`, by reference (validated once per connection) or from a signed
   * invocation. The tokens the call presents are kept on the connection only once the chain is valid
   * for this caller: a caller whose chain does not validate leaves nothing behind.
   */
  const chainFor = (request: AuthorizationRequest, caller: { peer: string; did: string }): ValidatedChain | Promise<ValidatedChain> => {
    const auth = parseAuth(request.auth)
    const kept = keptTokens(request.connection)
    const fresh = stageTokens(kept, auth.dlg ?? [])
    const proofs = fresh.size === 0 ? kept : new Map([...kept, ...fresh])
    if (auth.inv !== undefined) {
      return signedChain(request, caller, auth.inv, proofs).then((chain) => {
        keepTokens(request.connection, fresh)
        return chain
      })
    }
    const prf = auth.prf ?? []
    let chain = chainsOf(request.connection).find(prf)
    if (chain === undefined) {
      chain = validateChain(prf, { holder: caller.did, proofs, trusted, revoked: init.revoked, cache, ...clock })
      chainsOf(request.connection).add(prf, chain)
    }
    keepTokens(request.connection, fresh)
    return chain
  }

  /** A chain among the delegations presented on `connection`, delegated to `holder`, that allows the action. */
  const otherChainAllowing = (
    connection: Connection,
    holder: string,
    cmd: string,
    args: unknown
  ): ValidatedChain | undefined => {
    const store = keptTokens(connection)
    if (store.size === 0) return undefined
    const links = findChain(store.values(), holder, cmd, Math.floor(Date.now() / 1000))
    if (links === undefined) return undefined
    try {
      const chain = validateChain(
        links.map((d) => d.cid),
        { holder, proofs: store, trusted, revoked: init.revoked, cache, ...clock }
      )
      chain.authorize(cmd, args, clock)
      return chain
    } catch {
      return undefined
    }
  }

  /** The grant of intent `intent` under `validChain` to the caller on `connection`. */
  const makeGrant = (
    connection: Connection,
    caller: { peer: string; did: string },
    intent: string,
    validChain: ValidatedChain
  ): Grant => {
    const base = (): Pick<AuditEvent, 'caller' | 'intent' | 'chain' | 'authority'> => ({
      caller,
      intent,
      chain: [...validChain.cids],
      authority: validChain.subject
    })
    return {
      caller: { did: caller.did },
      details: { chain: validChain, authority: validChain.subject, connection },
      async allows(cmd: string, args: unknown): Promise<void> {
        try {
          let used = validChain
          try {
            validChain.authorize(cmd, args, clock)
          } catch (err) {
            // the caller may hold the action through another chain it presented on this connection
            const other = otherChainAllowing(connection, caller.did, cmd, args)
            if (other === undefined) throw err
            used = other
          }
          await askLocal('action', intent, cmd, args, caller, used)
        } catch (err) {
          const refusal = denied(err)
          emit(() => ({ ...base(), phase: 'action', cmd, argsDigest: argsDigest(args), allowed: false, reason: refusal.message }))
          throw refusal
        }
        emit(() => ({ ...base(), phase: 'action', cmd, argsDigest: argsDigest(args), allowed: true }))
      }
    }
  }

  /**
   * The grant for a call of `cmd` under `chain` on `connection`: made once, then handed out again for
   * each call of the same intent under the same chain. It holds no decision: the request's arguments
   * and every derived action are still checked against the chain (time, revocation, policies) each time.
   */
  const grantOf = (connection: Connection, caller: { peer: string; did: string }, cmd: string, chain: ValidatedChain): Grant => {
    let made = grants.get(connection)
    if (made === undefined) {
      made = new Map()
      grants.set(connection, made)
    }
    const hit = made.get(cmd)
    if (hit !== undefined && hit.chain === chain) return hit.grant
    const grant = makeGrant(connection, caller, cmd, chain)
    if (made.size >= GRANTS_PER_CONNECTION) made.delete(made.keys().next().value as string)
    made.set(cmd, { chain, grant })
    return grant
  }

  /** Audit a refused request, and throw the refusal. */
  const refuse = (request: AuthorizationRequest, caller: { peer: string; did: string }, chain: ValidatedChain | undefined, err: unknown): never => {
    const refusal = denied(err)
    emit(() => ({
      phase: 'request',
      caller,
      intent: request.cmd,
      cmd: request.cmd,
      argsDigest: argsDigest(request.args),
      allowed: false,
      reason: refusal.message,
      chain: [...(chain?.cids ?? [])],
      ...(chain === undefined ? {} : { authority: chain.subject })
    }))
    throw refusal
  }

  /** The chain allows the request itself, and so does the local policy: audit it, and grant it. */
  const allow = (request: AuthorizationRequest, caller: { peer: string; did: string }, chain: ValidatedChain): Grant | Promise<Grant> => {
    chain.authorize(request.cmd, request.args, clock)
    const granted = (): Grant => {
      emit(() => ({
        caller,
        intent: request.cmd,
        chain: [...chain.cids],
        authority: chain.subject,
        phase: 'request',
        cmd: request.cmd,
        argsDigest: argsDigest(request.args),
        allowed: true
      }))
      return grantOf(request.connection, caller, request.cmd, chain)
    }
    const local = askLocal('request', request.cmd, request.cmd, request.args, caller, chain)
    return local === undefined ? granted() : local.then(granted)
  }

  return {
    authorize(request: AuthorizationRequest): Grant | Promise<Grant> {
      const caller = callerOf(request.connection)
      let chain: ValidatedChain | undefined
      try {
        const found = chainFor(request, caller)
        if (found instanceof Promise) {
          return found
            .then((validated) => {
              chain = validated
              return allow(request, caller, validated)
            })
            .catch((err: unknown) => refuse(request, caller, chain, err))
        }
        chain = found
        const granted = allow(request, caller, found)
        return granted instanceof Promise ? granted.catch((err: unknown) => refuse(request, caller, found, err)) : granted
      } catch (err) {
        return refuse(request, caller, chain, err)
      }
    }
  }
}

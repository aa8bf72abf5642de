import { MeshError } from '../errors.ts'
import type { CallAuthorizer, Grant } from '../rpc/index.ts'

/**
 * An authorizer that lets any authenticated peer run any intent and any derived action. For local
 * development and tests only, like gRPC's insecure credentials: it checks nothing but the noise
 * handshake. Production agents use the UCAN authorizer (the default when `trust` is set).
 *
 * It opens the agent's intents only: to register a name the agent still needs a naming right
 * (`identity` and `proofs`, see {@link grantName}) from an authority its relays trust.
 *
 * @example
 * ```ts
 * import { allowAuthenticatedPeers, createAgent, createRelay, grantName } from 'agentmesh'
 * import { generateSigner } from 'agentmesh/identity'
 *
 * // registering a name still takes a naming right from an authority the relay trusts
 * const acme = generateSigner()
 * const agentKey = generateSigner()
 * const expiration = Math.floor(Date.now() / 1000) + 3600
 * const nameRight = await grantName({ issuer: acme, audience: agentKey.did, name: 'acme/dev/toy', expiration })
 * const trust = { acme: acme.did }
 * const relay = await createRelay({ listen: ['/ip4/127.0.0.1/tcp/0/ws'], trust })
 * const agent = await createAgent({
 *   name: 'acme/dev/toy',
 *   relays: relay.addrs,
 *   identity: agentKey,
 *   proofs: [nameRight],
 *   authorizer: allowAuthenticatedPeers()
 * })
 * agent.handle('/anything', () => 'ok')
 *
 * // any caller then runs any intent with no capability; it needs `trust` only to verify the name
 * const caller = await createAgent({ relays: relay.addrs, trust })
 * console.log(await caller.call('acme/dev/toy', '/anything')) // ok
 *
 * await Promise.all([caller.stop(), agent.stop()])
 * await relay.stop()
 * ```
 */
export function allowAuthenticatedPeers(): CallAuthorizer {
  const grant: Grant = { allows: async () => {} }
  return { authorize: async () => grant }
}

/**
 * The authorizer of an agent given no way to decide (no `trust`, no `authorizer`): every call is
 * refused with `PERMISSION_DENIED`.
 *
 * @example
 * ```ts
 * import { type AuthorizationRequest, denyAll, MeshError } from 'agentmesh'
 *
 * // what an agent asks about each call (it passes the call's connection too)
 * const request = { cmd: '/greet', args: {}, rawArgs: {}, auth: undefined } as AuthorizationRequest
 * try {
 *   await denyAll().authorize(request)
 * } catch (err) {
 *   console.log(MeshError.is(err, 'PERMISSION_DENIED')) // true
 * }
 * ```
 */
export function denyAll(): CallAuthorizer {
  return {
    authorize: async () => {
      throw new MeshError('PERMISSION_DENIED', 'this agent trusts no authority: configure `trust` or an authorizer')
    }
  }
}

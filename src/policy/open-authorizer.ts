import { MeshError } from '../errors.ts'
import type { CallAuthorizer, Grant } from '../rpc/index.ts'

/**
 * An authorizer that lets any authenticated peer run any intent and any derived action. For local
 * development and tests only, like gRPC's insecure credentials: it checks nothing but the noise
 * handshake. Production agents use the UCAN authorizer (the default when `trust` is set).
 *
 * @example
 * ```ts
 * const agent = await createAgent({ name: 'acme/dev/toy', relays, authorizer: allowAuthenticatedPeers() })
 * ```
 */
export function allowAuthenticatedPeers(): CallAuthorizer {
  const grant: Grant = { allows: async () => {} }
  return { authorize: async () => grant }
}

/** The authorizer of an agent given no way to decide: every call is refused. */
export function denyAll(): CallAuthorizer {
  return {
    authorize: async () => {
      throw new MeshError('PERMISSION_DENIED', 'this agent trusts no authority: configure `trust` or an authorizer')
    }
  }
}

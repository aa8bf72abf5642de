/**
 * The agent's side of authority: the UCAN call authorizer (deny by default), the local policy hook
 * for derived actions, and the audit trail.
 *
 * @example
 * ```ts
 * import { jsonLinesAuditSink, ucanAuthorizer } from './index.ts'
 *
 * const authorizer = ucanAuthorizer({
 *   trust: { acme: authorityDid },
 *   agentDid,
 *   localPolicy: ({ cmd }) => cmd !== '/k8s/delete' || 'deletes are never allowed here',
 *   audit: jsonLinesAuditSink('audit.jsonl')
 * })
 * ```
 *
 * @packageDocumentation
 */
export { type AuditEvent, type AuditSink, argsDigest, type JsonLinesAuditSink, jsonLinesAuditSink } from './audit.ts'
export * from './constants.ts'
export type { LocalPolicy, PolicyQuestion } from './local-policy.ts'
export { allowAuthenticatedPeers, denyAll } from './open-authorizer.ts'
export { CapabilityPresenter } from './presenter.ts'
export { presentedProofs } from './connection-state.ts'
export { type UcanAuth, type UcanAuthorizerInit, ucanAuthorizer } from './ucan-authorizer.ts'

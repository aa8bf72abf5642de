/**
 * Names: syntax, the relay directory protocol (server and client) and the resolver cache.
 *
 * @example
 * ```ts
 * import { assertName, NameResolver } from './index.ts'
 *
 * assertName('acme/prod/k8s')
 * const resolver = new NameResolver({ dial: (addr) => node.dial(multiaddr(addr)) }, { relays })
 * const record = await resolver.resolve('acme/prod/k8s')
 * ```
 *
 * @packageDocumentation
 */
export * from './constants.ts'
export { lookupName, registerName } from './directory-client.ts'
export { DirectoryServer, type DirectoryServerComponents } from './directory-server.ts'
export type { NameRecord } from './messages.ts'
export { NameResolver, type ResolverComponents, type ResolverInit } from './resolver.ts'
export { assertName, isName } from './syntax.ts'

/**
 * Networking: the libp2p node of each role.
 *
 * @example
 * ```ts
 * import { createRelayNode } from './index.ts'
 *
 * const node = await createRelayNode({ listen: ['/ip4/127.0.0.1/tcp/0/ws'] })
 * console.info(node.getMultiaddrs())
 * ```
 *
 * @packageDocumentation
 */
export * from './constants.ts'
export * from './keeper-constants.ts'
export {
  RelayKeeper,
  type RelayKeeperEvents,
  type RelayKeeperInit,
  type RelayStatus,
  relayKeeper
} from './relay-keeper.ts'
export { fixConnectionListing } from './connection-listing.ts'
export { fixReservationRefresh } from './reservation-refresh.ts'
export { tuneYamuxWindowUpdates } from './yamux-window.ts'
export {
  createAgentNode,
  createRelayNode,
  type AgentNodeOptions,
  type RelayLimits,
  type RelayNodeOptions
} from './node.ts'

/**
 * Networking: the libp2p node of each role.
 *
 * @example
 * ```ts
 * import { createRelayNode } from './index.ts'
 *
 * const node = await createRelayNode({ listen: ['/ip4/127.0.0.1/tcp/0/ws'] })
 * const addrs = node.getMultiaddrs() // what agents dial
 * ```
 *
 * @packageDocumentation
 */
export * from './constants.ts'
export * from './keeper-constants.ts'
export { RelayKeeper, relayKeeper } from './relay-keeper.ts'
export type { RelayKeeperComponents, RelayKeeperEvents, RelayKeeperInit, RelayStatus } from './relay-keeper-types.ts'
export { fixConnectionListing } from './connection-listing.ts'
export { PeerDialer } from './peer-dialer.ts'
export { fixReservationRefresh } from './reservation-refresh.ts'
export { sendDirectWhenIdle } from './direct-send.ts'
export { skipUnheardStreamEvents } from './unheard-events.ts'
export { tuneYamuxWindowUpdates } from './yamux-window.ts'
export {
  createAgentNode,
  createRelayNode,
  type AgentNodeOptions,
  type RelayLimits,
  type RelayNodeOptions
} from './node.ts'
export { deferredIdentify } from './deferred-identify.ts'
export { encryptOutboundEarly } from './early-encryption.ts'
export { newStreamEarly, openEarly, type EarlyStreamOptions } from './early-select.ts'
export { quietLogger } from './quiet-logger.ts'
export { encodeHopStatus, spliceRelayedCircuits } from './relay-circuits.ts'
export { spliceStreams, type SpliceableStream, type SpliceOptions } from './stream-splice.ts'
export { tunedNoise } from './tuned-noise.ts'
export { joinSmallWrites, joinTransportWrites } from './joined-writes.ts'
export { yamuxPingingLater } from './yamux-ping.ts'
export { gatherFirstTurn, gatherFirstTurnOfInboundStreams } from './first-turn.ts'
export { recordPeersLater } from './peer-store-later.ts'

/** The part of libp2p's peer store whose bookkeeping writes are moved off the path. */
interface MergingStore {
  merge(peer: unknown, data: unknown, options?: unknown): Promise<unknown>
}

/** Something that holds libp2p's components (a connection, the dial queue). */
interface HoldsComponents {
  components: object
}

/** The parts of libp2p's upgrader and connection manager this reaches. */
interface Internals {
  components?: {
    upgrader?: { _createConnection?: (opts: unknown) => unknown }
    connectionManager?: { dialQueue?: unknown }
  }
}

function holdsComponents(value: unknown): value is HoldsComponents {
  const components = (value as Partial<HoldsComponents> | undefined)?.components
  return typeof components === 'object' && components !== null
}

/** The peer store as connections and the dial queue see it: `merge` later, the rest the store's own. */
function mergingLater(store: MergingStore, log: (err: unknown) => void): MergingStore {
  const bound = new Map<PropertyKey, unknown>()
  const merge = async (peer: unknown, data: unknown, options?: unknown): Promise<undefined> => {
    setImmediate(() => {
      store.merge(peer, data, options).catch(log)
    })
    return undefined
  }
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'merge') return merge
      // methods run on the store itself (its private fields do not exist on a proxy)
      const value: unknown = Reflect.get(target, prop, target)
      if (typeof value !== 'function') return value
      let fn = bound.get(prop)
      if (fn === undefined) bound.set(prop, (fn = (value as (...args: unknown[]) => unknown).bind(target)))
      return fn
    }
  })
}

/**
 * libp2p's components with the peer store of {@link mergingLater}: its `merge` records the change
 * at the end of this turn of the event loop and resolves at once, to nothing (the two places that
 * get this view ignore what `merge` returns). Every other component is the node's own.
 */
function componentsWithMergeLater(components: object, log: (err: unknown) => void): object {
  let later: MergingStore | undefined
  return new Proxy(components, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target)
      if (prop !== 'peerStore' || typeof (value as Partial<MergingStore> | undefined)?.merge !== 'function') return value
      later ??= mergingLater(value as MergingStore, log)
      return later
    }
  })
}

/**
 * Record libp2p's bookkeeping of a new stream or a dial in the peer store after the work it was
 * recorded for, not before it.
 *
 * libp2p awaits a peer-store merge before it hands an inbound stream to its handler or an outbound
 * one to its opener (the stream's protocol), and before a dial returns its connection (the time and
 * address of the successful dial). A merge reads, decodes, merges, encodes and writes the peer's
 * whole record: 0.15-0.5 ms each on a cold call through a relay, which made six of them one after
 * the other (two dials in the caller, two new streams on the relay, two on the agent). Here those
 * merges run at the end of the turn of the event loop instead, in the order they were made, on the
 * same store; a failure is logged and no longer aborts the stream. Only the connections' and the
 * dial queue's view of the peer store changes: `node.peerStore` is untouched.
 *
 * Returns false, and changes nothing, when the node's internals are not of the shape this relies on.
 *
 * @example
 * ```ts
 * const node = await createLibp2p({})
 * recordPeersLater(node) // true
 * ```
 */
export function recordPeersLater(node: object): boolean {
  const components = (node as Internals).components
  const logger = (node as { logger?: { forComponent(name: string): { error(format: string, ...args: unknown[]): void } } }).logger
  const errors = logger?.forComponent('agentmesh:peer-store')
  const log = (err: unknown): void => errors?.error('a peer-store merge after a stream or dial failed - %e', err)
  const upgrader = components?.upgrader
  const dialQueue = components?.connectionManager?.dialQueue
  const create = upgrader?._createConnection
  if (upgrader === undefined || typeof create !== 'function' || !holdsComponents(dialQueue)) return false
  const original = dialQueue.components
  const view = componentsWithMergeLater(original, log)
  dialQueue.components = view
  upgrader._createConnection = (opts) => {
    const connection = create.call(upgrader, opts)
    if (holdsComponents(connection)) {
      connection.components = connection.components === original ? view : componentsWithMergeLater(connection.components, log)
    }
    return connection
  }
  return true
}

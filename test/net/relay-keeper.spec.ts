import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Libp2p } from 'libp2p'
import { allowAuthenticatedPeers, createAgent, createRelay, grantName, type Relay, type RelayOptions } from '../../src/index.ts'
import { generateSigner } from '../../src/identity/index.ts'
import { createAgentNode, MAX_RESERVATION_TTL_MS } from '../../src/net/index.ts'
import { RelayKeeper, type RelayKeeperInit, type RelayStatus, relayKeeper } from '../../src/net/index.ts'
import { nowSeconds } from '../fixtures/mesh.ts'
import { waitFor } from '../fixtures/wait.ts'
import type { PrivateKey } from '@libp2p/interface'

/** A TCP port that was free a moment ago, so a relay can be restarted on the same address. */
async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0))
    })
  })
}

/** A relay on loopback TCP (a fixed port when given, so it can come back on the same address). */
async function startRelay(options: RelayOptions & { port?: number }): Promise<Relay> {
  const { port, ...rest } = options
  return await createRelay({ listen: [`/ip4/127.0.0.1/tcp/${port ?? 0}`], ...rest })
}

interface Recorded {
  node: Libp2p
  peerId: string
  keeper: RelayKeeper
  events: Array<{ type: string; detail: RelayStatus }>
  hooked: string[]
}

/** A fresh agent key, so relays can put its PeerId on their allow list before it starts. */
async function agentKey(): Promise<{ privateKey: PrivateKey; peerId: string }> {
  const privateKey = await generateKeyPair('Ed25519')
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey).toString() }
}

/** An agent node with the built-in keeper of `createAgentNode`, recording its events and hook calls. */
async function startKeeper(
  privateKey: PrivateKey,
  relays: string[],
  init: Omit<RelayKeeperInit, 'relays' | 'onReservation'> = {}
): Promise<Recorded> {
  const hooked: string[] = []
  const events: Recorded['events'] = []
  const node = await createAgentNode({
    privateKey,
    relays,
    keeper: {
      ...init,
      onReservation: (addr) => {
        hooked.push(addr)
      }
    },
    libp2p: { start: false }
  })
  const keeper = node.services.relayKeeper as RelayKeeper
  assert.ok(keeper instanceof RelayKeeper, 'createAgentNode builds the relay keeper in')
  for (const type of ['relay:connected', 'relay:disconnected', 'reservation:renewed'] as const) {
    keeper.addEventListener(type, (evt) => events.push({ type, detail: evt.detail }))
  }
  await node.start()
  return { node, peerId: node.peerId.toString(), keeper, events, hooked }
}

const silentLogger = {
  forComponent: () => Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false })
} as never

const circuits = (node: Libp2p): string[] =>
  node.getMultiaddrs().map(String).filter((a) => a.includes('/p2p-circuit'))

describe('relay keeper (real in-process libp2p nodes over TCP)', function () {
  this.timeout(30_000)
  const cleanup: Array<() => Promise<unknown>> = []
  afterEach(async () => {
    await Promise.allSettled(cleanup.splice(0).map(async (f) => f()))
  })

  it('holds a reservation, advertises the circuit address and calls onReservation with the relay address', async () => {
    const key = await agentKey()
    const relay = await startRelay({ allow: [key.peerId] })
    cleanup.push(async () => relay.stop())
    const agent = await startKeeper(key.privateKey, [relay.addrs[0]!])
    cleanup.push(async () => agent.node.stop())
    await agent.keeper.ready({ signal: AbortSignal.timeout(5_000) })
    await waitFor('the hook', () => agent.hooked.length === 1)
    assert.deepEqual(agent.keeper.reserved, [relay.addrs[0]])
    assert.equal(agent.hooked[0], relay.addrs[0])
    // the first round of reservations is made while the node starts
    assert.deepEqual(agent.events.map((e) => e.type), ['relay:connected'])
    assert.ok((agent.keeper.statuses[0]?.expires ?? 0) > Date.now(), 'the status carries the expiry')
    assert.equal(circuits(agent.node).length, 1)
    assert.equal(relay.reservationCount(), 1)
  })

  it('gets no reservation from a relay that neither allows it nor trusts a naming right it holds', async () => {
    const key = await agentKey()
    const relay = await startRelay({ trust: { acme: generateSigner().did } })
    cleanup.push(async () => relay.stop())
    const agent = await startKeeper(key.privateKey, [relay.addrs[0]!], { initialBackoffMs: 100, maxBackoffMs: 400 })
    cleanup.push(async () => agent.node.stop())
    await waitFor('the relay to refuse', () => relay.admission.refusals.has(key.peerId))
    await new Promise((resolve) => setTimeout(resolve, 500))
    assert.deepEqual(agent.keeper.reserved, [])
    assert.deepEqual(agent.events, [])
    assert.deepEqual(agent.hooked, [])
    assert.equal(circuits(agent.node).length, 0)
    assert.equal(relay.reservationCount(), 0)
  })

  it('reconnects after its relay restarts on the same port with the same key, and says so in events', async () => {
    const key = await agentKey()
    const relayKey = await generateKeyPair('Ed25519')
    const port = await freePort()
    let relay = await startRelay({ privateKey: relayKey, port, allow: [key.peerId] })
    cleanup.push(async () => relay.stop())
    const addr = relay.addrs[0]!
    const agent = await startKeeper(key.privateKey, [addr])
    cleanup.push(async () => agent.node.stop())
    await agent.keeper.ready({ signal: AbortSignal.timeout(5_000) })
    await waitFor('the first hook', () => agent.hooked.length === 1)

    await relay.stop()
    await waitFor('relay:disconnected', () => agent.events.some((e) => e.type === 'relay:disconnected'))
    assert.deepEqual(agent.keeper.reserved, [])
    await waitFor('the circuit address to be withdrawn', () => circuits(agent.node).length === 0)

    relay = await startRelay({ privateKey: relayKey, port, allow: [key.peerId] })
    assert.equal(relay.addrs[0], addr, 'same PeerId and address after the restart')
    const took = await waitFor('a new reservation', () => agent.keeper.reserved.length === 1)
    assert.ok(took < 5_000, `reconnected ${took} ms after the restart`)
    await waitFor('the hook to run again', () => agent.hooked.length === 2)
    assert.deepEqual(
      agent.events.map((e) => e.type),
      ['relay:connected', 'relay:disconnected', 'relay:connected']
    )
    await waitFor('the circuit address to be advertised again', () => circuits(agent.node).length === 1)
    assert.equal(relay.reservationCount(), 1, 'the restarted relay holds our reservation')
  })

  it('starts while its relay is down and takes a reservation once the relay comes up', async () => {
    const key = await agentKey()
    const relayKey = await generateKeyPair('Ed25519')
    const port = await freePort()
    const addr = `/ip4/127.0.0.1/tcp/${port}/p2p/${peerIdFromPrivateKey(relayKey).toString()}`
    const agent = await startKeeper(key.privateKey, [addr], { initialBackoffMs: 100, maxBackoffMs: 400 })
    cleanup.push(async () => agent.node.stop())
    await new Promise((resolve) => setTimeout(resolve, 800))
    assert.deepEqual(agent.keeper.reserved, [])
    const relay = await startRelay({ privateKey: relayKey, port, allow: [key.peerId] })
    cleanup.push(async () => relay.stop())
    await agent.keeper.ready({ signal: AbortSignal.timeout(5_000) })
    await waitFor('the circuit address', () => circuits(agent.node).length === 1)
    assert.deepEqual(agent.hooked, [addr])
  })

  it('renews a short reservation (limits.reservationTtlMs) before it expires and fires reservation:renewed', async () => {
    const key = await agentKey()
    const relay = await startRelay({ allow: [key.peerId], limits: { reservationTtlMs: 4_000 } })
    cleanup.push(async () => relay.stop())
    const agent = await startKeeper(key.privateKey, [relay.addrs[0]!])
    cleanup.push(async () => agent.node.stop())
    await agent.keeper.ready({ signal: AbortSignal.timeout(5_000) })
    const first = agent.keeper.statuses[0]!.expires!
    assert.ok(first - Date.now() <= 4_500, `the relay granted the short TTL (expires in ${first - Date.now()} ms)`)
    // three renewals span more than two TTLs: the relay must keep honouring refreshes after the first
    await waitFor('three renewals', () => agent.events.filter((e) => e.type === 'reservation:renewed').length >= 3, 15_000)
    const renewals = agent.events.filter((e) => e.type === 'reservation:renewed')
    assert.ok(renewals[2]!.detail.expires! > renewals[0]!.detail.expires!, 'each renewal pushes the expiry further')
    assert.ok(!agent.events.some((e) => e.type === 'relay:disconnected'), 'the reservation never lapsed')
    assert.equal(circuits(agent.node).length, 1)
    assert.equal(relay.reservationCount(), 1, 'the relay still holds the reservation')
    assert.equal(agent.hooked.length, 1, 'a renewal is not a new reservation')
  })

  it('holds two of three relays and moves to the spare when one dies', async () => {
    const key = await agentKey()
    const relays = await Promise.all([0, 1, 2].map(async () => startRelay({ allow: [key.peerId] })))
    cleanup.push(async () => Promise.allSettled(relays.map(async (r) => r.stop())))
    const addrs = relays.map((r) => r.addrs[0]!)
    const agent = await startKeeper(key.privateKey, addrs)
    cleanup.push(async () => agent.node.stop())
    await waitFor('two reservations', () => agent.keeper.reserved.length === 2)
    assert.deepEqual(agent.keeper.reserved, addrs.slice(0, 2), 'relays are taken in order of preference')
    assert.equal(relays[2]!.reservationCount(), 0, 'no more than the wanted number of reservations')

    await relays[0]!.stop()
    await waitFor('the spare relay', () => agent.keeper.reserved.includes(addrs[2]!))
    assert.deepEqual([...agent.keeper.reserved].sort(), [addrs[1]!, addrs[2]!].sort())
    await waitFor('two circuit addresses', () => circuits(agent.node).length === 2)
  })

  it('a named agent (naming right, trusting relay) re-registers its name after its relay restarts', async () => {
    const authority = generateSigner()
    const trust = { acme: authority.did }
    const name = 'acme/keeper/restart'
    const key = generateSigner()
    const right = await grantName({ issuer: authority, audience: key.did, name, expiration: nowSeconds() + 3_600 })
    const relayKey = await generateKeyPair('Ed25519')
    const port = await freePort()
    let relay = await startRelay({ privateKey: relayKey, port, trust })
    cleanup.push(async () => relay.stop())
    const agent = await createAgent({
      name,
      relays: [relay.addrs[0]!],
      identity: key,
      proofs: [right],
      trust,
      authorizer: allowAuthenticatedPeers()
    })
    cleanup.push(async () => agent.stop())
    agent.handle('/echo', (x: unknown) => x)
    const keeper = agent.keeper
    assert.ok(keeper !== undefined, 'a named agent has a built-in keeper')
    const types: string[] = []
    for (const type of ['relay:connected', 'relay:disconnected'] as const) keeper.addEventListener(type, () => types.push(type))
    assert.deepEqual(keeper.reserved, [relay.addrs[0]])
    assert.equal(relay.admission.size, 1, 'admitted on its naming right')

    await relay.stop()
    await waitFor('relay:disconnected', () => types.includes('relay:disconnected'))
    relay = await startRelay({ privateKey: relayKey, port, trust })
    await waitFor('a new reservation', () => keeper.reserved.length === 1)
    // the restarted relay knew nothing: the name is there again only because the agent registered it
    await waitFor('the record on the restarted relay', () => relay.directory.size > 0)
    const caller = await createAgent({ relays: [relay.addrs[0]!], trust })
    cleanup.push(async () => caller.stop())
    assert.equal(await caller.call(name, '/echo', 'back', { timeout: 5_000 }), 'back')
    assert.deepEqual(types, ['relay:disconnected', 'relay:connected'])
  })

  it('waits exponentially longer between attempts, with jitter, up to a cap', () => {
    const keeper = new RelayKeeper(
      { connectionManager: {} as never, transportManager: {} as never, logger: silentLogger },
      { relays: [], initialBackoffMs: 100, maxBackoffMs: 1_000, backoffMultiplier: 2, jitter: 0.2 }
    )
    for (let i = 0; i < 50; i++) {
      const first = keeper.backoff(1)
      assert.ok(first >= 80 && first <= 120, `first wait ${first}`)
      const third = keeper.backoff(3)
      assert.ok(third >= 320 && third <= 480, `third wait ${third}`)
      const capped = keeper.backoff(30)
      assert.ok(capped >= 800 && capped <= 1_200, `capped wait ${capped}`)
    }
    const spread = new Set(Array.from({ length: 20 }, () => keeper.backoff(2)))
    assert.ok(spread.size > 1, 'waits are jittered')
  })

  it('refuses a relay address without /p2p/<id>', () => {
    assert.throws(() => relayKeeper({ relays: ['/ip4/127.0.0.1/tcp/1'] })({ logger: silentLogger } as never), /p2p/)
  })
})

/** Make `relay` answer every reservation with an expiry `years` later than the one it keeps. */
function lieAboutExpiry(relay: Relay, years: number): void {
  const store = (relay.node.services as unknown as { relay: { reservationStore: { reserve: (...a: unknown[]) => { expire: number } } } })
    .relay.reservationStore
  const reserve = store.reserve.bind(store)
  store.reserve = (...a) => {
    const granted = reserve(...a)
    return { ...granted, expire: granted.expire + years * 365 * 24 * 3600 }
  }
}

/** An agent node whose circuit transport counts the reservations (and renewals) its keeper asks for. */
async function countingAgent(
  privateKey: PrivateKey,
  relays: string[],
  keeper: Omit<RelayKeeperInit, 'relays'> = {}
): Promise<{ node: Libp2p; keeper: RelayKeeper; asked: () => number }> {
  const node = await createAgentNode({ privateKey, relays, keeper, libp2p: { start: false } })
  const transport = (node as unknown as { components: { transportManager: { getTransports(): unknown[] } } }).components.transportManager
    .getTransports()
    .find((t) => (t as { [Symbol.toStringTag]: string })[Symbol.toStringTag] === '@libp2p/circuit-relay-v2-transport') as {
    reservationStore: { addRelay: (...a: unknown[]) => Promise<unknown> }
  }
  let asked = 0
  const store = transport.reservationStore
  const addRelay = store.addRelay.bind(store)
  store.addRelay = async (...a) => {
    asked++
    return addRelay(...a)
  }
  await node.start()
  return { node, keeper: node.services.relayKeeper as RelayKeeper, asked: () => asked }
}

describe('a relay that lies about a reservation\'s expiry', function () {
  this.timeout(30_000)
  const cleanup: Array<() => Promise<unknown>> = []
  afterEach(async () => {
    await Promise.allSettled(cleanup.splice(0).map(async (f) => f()))
  })

  it('does not make the agent spin: the claimed expiry is capped and the renewal waits', async () => {
    const key = await agentKey()
    const relay = await startRelay({ allow: [key.peerId] })
    cleanup.push(async () => relay.stop())
    lieAboutExpiry(relay, 10)
    const overflows: Error[] = []
    const onWarning = (w: Error): void => {
      if (w.name === 'TimeoutOverflowWarning') overflows.push(w)
    }
    process.on('warning', onWarning)
    cleanup.push(async () => process.off('warning', onWarning))
    const agent = await countingAgent(key.privateKey, [relay.addrs[0]!])
    cleanup.push(async () => agent.node.stop())
    await agent.keeper.ready({ signal: AbortSignal.timeout(10_000) })
    const expires = agent.keeper.statuses[0]!.expires!
    assert.ok(expires <= Date.now() + MAX_RESERVATION_TTL_MS, `believed the relay's ${new Date(expires).toISOString()}`)
    const before = agent.asked()
    await new Promise((resolve) => setTimeout(resolve, 2_000))
    assert.equal(agent.asked() - before, 0, 'no renewal is due for a day')
    assert.deepEqual(overflows.map((w) => w.message), [])
  })

  it('does not spin either when told to believe reservations longer than a timer can wait', async () => {
    const key = await agentKey()
    const relay = await startRelay({ allow: [key.peerId] })
    cleanup.push(async () => relay.stop())
    lieAboutExpiry(relay, 10)
    const agent = await countingAgent(key.privateKey, [relay.addrs[0]!], { maxReservationTtlMs: Number.POSITIVE_INFINITY })
    cleanup.push(async () => agent.node.stop())
    await agent.keeper.ready({ signal: AbortSignal.timeout(10_000) })
    const before = agent.asked()
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    assert.equal(agent.asked() - before, 0, 'the renewal timer waits its longest, not 1 ms')
  })

  it('is reserved on anew when the lie outlives the longest reservation the keeper believes', async () => {
    const key = await agentKey()
    const relay = await startRelay({ allow: [key.peerId] })
    cleanup.push(async () => relay.stop())
    lieAboutExpiry(relay, 10)
    const agent = await countingAgent(key.privateKey, [relay.addrs[0]!], { maxReservationTtlMs: 3_000, initialBackoffMs: 100 })
    cleanup.push(async () => agent.node.stop())
    await agent.keeper.ready({ signal: AbortSignal.timeout(10_000) })
    // the first reservation was made while the node started
    const types: string[] = []
    for (const type of ['relay:connected', 'relay:disconnected'] as const) agent.keeper.addEventListener(type, () => types.push(type))
    await waitFor('a new reservation', () => types.slice(0, 2).join() === 'relay:disconnected,relay:connected', 15_000)
    assert.ok(agent.keeper.statuses[0]!.expires! <= Date.now() + 3_000)
    assert.ok(agent.asked() < 20, `asked the relay ${agent.asked()} times`)
  })
})

import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateSigner, saveKey } from '../../src/identity/index.ts'
import { grantName, saveTokens } from '../../src/names/index.ts'
import { cleanupLeftovers, createNatTopology, ensureNetnsTools, type NatTopology } from '../fixtures/netns.ts'
import { type Party, type PartyMessage, startParty, stopAllParties } from '../fixtures/processes.ts'

const PARTIES = new URL('./parties/', import.meta.url).pathname
const party = (file: string): string => join(PARTIES, file)
/**
 * The DCUtR module the direct-upgrade tests load: `@libp2p/dcutr` once it is a dependency, a path to
 * it (AGENTMESH_DCUTR_MODULE=/tmp/x/node_modules/@libp2p/dcutr/dist/src/index.js) until then, or
 * `builtin` to test the DCUtR service agentmesh runs by default (`directUpgrade`).
 */
const DCUTR_MODULE = process.env.AGENTMESH_DCUTR_MODULE ?? 'builtin'
/** Set to make the direct-upgrade test fail (not just report) when DCUtR cannot be loaded. */
const REQUIRE_DCUTR = process.env.AGENTMESH_REQUIRE_DCUTR !== '0'
const RELAY_PORTS = { a: 4001, b: 4002 }
const PUNCH_PORT = 4200
const PUBLIC_PORT = 4100
const PUBLIC_EDGE_PORT = 4300
/**
 * A call long enough to be in flight on the relayed connection when DCUtR replaces it, and to
 * outlast the 2 s of quiet the relayed connection is given before it closes: the close must wait
 * for the call, not only for the quiet spell.
 */
const SLOW_CALL_MS = 3_500
const EDGES = ['one', 'two', 'punch', 'direct', 'public'] as const

type Ready = { peerId: string; addrs: string[]; reserved?: string[]; listen?: string[] }
type Connections = { connections: Array<{ peer: string; addr: string; direct: boolean }> }
const ready = async (p: Party, timeout = 20_000): Promise<Ready> =>
  (await p.next((m) => m.ready !== undefined, timeout)).ready as Ready
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** One TCP connection attempt from inside `ns`. */
async function probe(ns: string, host: string, port: number, timeoutMs = 2_000): Promise<PartyMessage> {
  const p = startParty(`probe ${ns}→${host}:${port}`, [party('probe.ts'), 'connect', host, String(port), String(timeoutMs)], { netns: ns })
  return await p.next((m) => m.result !== undefined, timeoutMs + 10_000)
}

async function call(orch: Party, name: string, args: unknown, timeout = 5_000, intent = '/echo'): Promise<PartyMessage> {
  return await orch.request({ call: { name, intent, args, timeout } }, timeout + 5_000)
}

async function connectionsTo(orch: Party, peer: string): Promise<Connections['connections']> {
  const { connections } = (await orch.request({ connections: true })) as unknown as Connections
  return connections.filter((c) => c.peer === peer)
}

/**
 * Start a /slow call of {@link SLOW_CALL_MS} to `name` (the first call: it opens the relayed
 * connection), and follow the orchestrator's connections to `peer` until only direct ones are left
 * (or 12 s): whether a relayed one was seen, when the first direct one was, and when the last
 * relayed one went, in ms from the call's start; then the call's answer.
 */
async function slowCallAcrossUpgrade(orch: Party, name: string, peer: string, echo: string) {
  const started = Date.now()
  const slow = call(orch, name, { ms: SLOW_CALL_MS, echo }, 10_000, '/slow')
  let toEdge = await connectionsTo(orch, peer)
  let sawRelayed = false
  let directAt: number | undefined
  for (;;) {
    sawRelayed ||= toEdge.some((c) => !c.direct)
    if (directAt === undefined && toEdge.some((c) => c.direct)) directAt = Date.now() - started
    if ((toEdge.length > 0 && toEdge.every((c) => c.direct)) || Date.now() - started > 12_000) break
    await sleep(50)
    toEdge = await connectionsTo(orch, peer)
  }
  const took = Date.now() - started
  return { across: await slow, toEdge, directAt, sawRelayed, took }
}

/** The DCUtR debug lines of a party's stderr (started with DEBUG=libp2p:dcutr*), condensed. */
function dcutrLog(p: Party): string[] {
  return p.log
    .split('\n')
    .filter((l) => l.includes('libp2p:dcutr'))
    .map((l) => l.replace(/^.*libp2p:dcutr(:error)?\s*/, (_m, e: string | undefined) => (e === undefined ? '' : 'ERROR ')).slice(0, 220))
}

describe('NAT topology (Linux network namespaces, veth, iptables MASQUERADE): agents behind two NATs', function () {
  this.timeout(40_000)
  let topo: NatTopology | undefined
  let keys: string | undefined
  let authorityDid: string
  const relayAddr: Record<'a' | 'b', string> = { a: '', b: '' }
  const relays: Record<'a' | 'b', Party | undefined> = { a: undefined, b: undefined }
  let edgeOne: Party
  let edgeTwo: Party
  let orchOne: Party
  let orchTwo: Party
  let edgeOnePeer: string

  const startRelay = (which: 'a' | 'b'): Party =>
    startParty(
      `relay-${which}`,
      [party('relay.ts'), '--key', join(keys!, `relay-${which}.key`), '--listen', `/ip4/${topo!.ip.relay}/tcp/${RELAY_PORTS[which]}`, '--trust', authorityDid],
      { netns: topo!.ns.pub }
    )
  const startEdge = (
    which: (typeof EDGES)[number],
    relayList: string[],
    more: string[] = [],
    env?: Record<string, string>,
    ns: string = topo!.ns.edge
  ): Party =>
    startParty(
      `edge-${which}`,
      [
        party('edge.ts'),
        '--name', `acme/edge/${which}`,
        '--relays', relayList.join(','),
        '--key', join(keys!, `edge-${which}.key`),
        '--proofs', join(keys!, `edge-${which}.ucan`),
        '--trust', authorityDid,
        ...more
      ],
      { netns: ns, ...(env === undefined ? {} : { env }) }
    )
  const startOrch = (label: string, ns: string, relayList: string[], more: string[] = [], env?: Record<string, string>): Party =>
    startParty(`orch-${label}`, [party('orchestrator.ts'), '--relays', relayList.join(','), '--trust', authorityDid, ...more], {
      netns: ns,
      ...(env === undefined ? {} : { env })
    })

  before(async function () {
    this.timeout(180_000) // apt-get may run on a fresh CI machine
    ensureNetnsTools()
    const removed = cleanupLeftovers()
    if (removed.length > 0) console.info(`      removed namespaces left by a crashed run: ${removed.join(', ')}`)
    topo = createNatTopology()
    // the organisation's authority, the relays' keys, and each edge agent's key and naming right
    keys = mkdtempSync(join(tmpdir(), 'agentmesh-netns-'))
    const authority = generateSigner()
    authorityDid = authority.did
    const expiration = Math.floor(Date.now() / 1000) + 3_600
    await Promise.all([
      saveKey(join(keys, 'relay-a.key'), generateSigner()),
      saveKey(join(keys, 'relay-b.key'), generateSigner()),
      ...EDGES.map(async (which) => {
        const key = generateSigner()
        await saveKey(join(keys!, `edge-${which}.key`), key)
        await saveTokens(join(keys!, `edge-${which}.ucan`), [
          await grantName({ issuer: authority, audience: key.did, name: `acme/edge/${which}`, expiration })
        ])
      })
    ])
    relays.a = startRelay('a')
    relays.b = startRelay('b')
    const [a, b] = await Promise.all([ready(relays.a), ready(relays.b)])
    relayAddr.a = a.addrs[0]!
    relayAddr.b = b.addrs[0]!
    edgeOne = startEdge('one', [relayAddr.a])
    edgeTwo = startEdge('two', [relayAddr.a, relayAddr.b])
    orchOne = startOrch('one', topo.ns.orch, [relayAddr.a])
    orchTwo = startOrch('two', topo.ns.orch, [relayAddr.a, relayAddr.b])
    const [one, two] = await Promise.all([ready(edgeOne), ready(edgeTwo), ready(orchOne), ready(orchTwo)])
    edgeOnePeer = one.peerId
    assert.deepEqual(one.reserved, [relayAddr.a], 'edge-one holds a reservation on relay a (built-in keeper)')
    assert.equal(two.reserved?.length, 2, 'edge-two holds reservations on both relays')
  })

  after(async () => {
    await stopAllParties()
    topo?.teardown()
    if (keys !== undefined) rmSync(keys, { recursive: true, force: true })
  })

  it('the orchestrator cannot open a TCP connection to the edge host (its LAN or its NAT address, IPv4 or IPv6)', async () => {
    const listener = startParty('edge-listener', [party('probe.ts'), 'listen', '7000'], { netns: topo!.ns.edge })
    await listener.next((m) => m.ready !== undefined)
    const ip = topo!.ip
    // controls: the service answers on the edge LAN, and the orchestrator does reach the public relay
    const [fromEdge, fromNat1, fromNat1v6, toRelay] = await Promise.all([
      probe(topo!.ns.edge, ip.edgeLan, 7000),
      probe(topo!.ns.nat1, ip.edgeLan, 7000),
      probe(topo!.ns.nat1, ip.edgeLan6, 7000),
      probe(topo!.ns.orch, ip.relay, RELAY_PORTS.a)
    ])
    assert.equal(fromEdge.result, 'connected', `edge → its own service: ${JSON.stringify(fromEdge)}`)
    assert.equal(fromNat1.result, 'connected', `NAT router → edge service: ${JSON.stringify(fromNat1)}`)
    assert.equal(fromNat1v6.result, 'connected', `NAT router → edge service over IPv6: ${JSON.stringify(fromNat1v6)}`)
    assert.equal(toRelay.result, 'connected', `the orchestrator reaches the relay: ${JSON.stringify(toRelay)}`)
    const targets: Array<[string, string, string]> = [
      ['orchestrator', topo!.ns.orch, ip.edgeLan],
      ['orchestrator', topo!.ns.orch, ip.edgeWan],
      ['orchestrator', topo!.ns.orch, ip.edgeLan6],
      ['orchestrator', topo!.ns.orch, ip.edgeWan6],
      ['public host', topo!.ns.opub, ip.edgeWan6]
    ]
    const results = await Promise.all(targets.map(async ([, ns, host]) => probe(ns, host, 7000)))
    targets.forEach(([who, , host], i) => {
      const r = results[i]!
      console.info(`      ${who} → edge ${host}:7000: ${String(r.result)} ${String(r.code ?? '')} after ${String(r.ms)} ms`)
      assert.notEqual(r.result, 'connected', `${who} → ${host}`)
    })
    await listener.kill('SIGTERM')
  })

  it('a call by name succeeds through the relay, over a relayed connection', async () => {
    const answer = await call(orchOne, 'acme/edge/one', { hello: 'nat' })
    assert.deepEqual(answer.ok, { hello: 'nat' }, JSON.stringify(answer))
    console.info(`      first call took ${String(answer.ms)} ms (resolve + dial through the relay)`)
    const toEdge = await connectionsTo(orchOne, edgeOnePeer)
    assert.ok(toEdge.length > 0 && toEdge.every((c) => c.addr.includes('/p2p-circuit')), JSON.stringify(toEdge))
  })

  it('after the relay process is killed and restarted (same key, same port), calls succeed again within 10 s without restarting the agent', async () => {
    const edgePid = edgeOne.child.pid
    const mark = edgeOne.messages.length
    await relays.a!.kill('SIGKILL')
    await edgeOne.next((m) => m.event === 'relay:disconnected', 10_000, mark)
    const failed = await call(orchOne, 'acme/edge/one', 'while down', 2_000)
    assert.ok(failed.error !== undefined, 'no path while the only relay is down')
    console.info(`      call while the relay is down: ${JSON.stringify(failed.error)} after ${String(failed.ms)} ms`)

    const restarted = Date.now()
    relays.a = startRelay('a')
    assert.equal((await ready(relays.a)).addrs[0], relayAddr.a, 'same PeerId and address after the restart')
    let answer: PartyMessage | undefined
    let attempts = 0
    while (Date.now() - restarted < 10_000) {
      attempts++
      answer = await call(orchOne, 'acme/edge/one', 'back', 2_000)
      if (answer.ok === 'back') break
      await sleep(200)
    }
    const took = Date.now() - restarted
    const reconnected = edgeOne.messages.slice(mark).find((m) => m.event === 'relay:connected')
    console.info(
      `      calls work again ${took} ms after the restart (${attempts} attempts); keeper reconnected ${reconnected === undefined ? 'never' : `${Number(reconnected.at) - restarted} ms`} after it`
    )
    assert.equal(answer?.ok, 'back', `last answer: ${JSON.stringify(answer)}`)
    assert.ok(took < 10_000)
    assert.ok(reconnected !== undefined, 'the keeper reported relay:connected')
    assert.equal(edgeOne.exited, undefined, 'the agent was not restarted')
    assert.equal(edgeOne.child.pid, edgePid)
  })

  it('after the relay restart the name is registered again: a fresh orchestrator resolves and calls it', async () => {
    const fresh = startOrch('fresh', topo!.ns.orch, [relayAddr.a])
    await ready(fresh)
    const answer = await call(fresh, 'acme/edge/one', 'fresh')
    assert.equal(answer.ok, 'fresh', JSON.stringify(answer))
    await fresh.kill('SIGTERM')
  })

  it('with two relays, killing the one that carries the connection keeps calls working', async () => {
    // relay a was restarted by an earlier test: wait until edge-two holds both reservations again
    const deadline = Date.now() + 10_000
    for (;;) {
      const reserved = ((await orchTwo.request({ call: { name: 'acme/edge/two', intent: '/whoami', timeout: 5_000 } })).ok as { relays?: string[] } | undefined)?.relays
      if (reserved?.length === 2 || Date.now() > deadline) break
      await sleep(250)
    }
    const first = await call(orchTwo, 'acme/edge/two', 'before')
    assert.equal(first.ok, 'before', JSON.stringify(first))
    const { connections } = (await orchTwo.request({ connections: true })) as unknown as Connections
    const via = connections.find((c) => c.addr.includes('/p2p-circuit'))?.addr ?? ''
    const victim: 'a' | 'b' = via.includes(relayAddr.b.split('/p2p/')[1]!) ? 'b' : 'a'
    await relays[victim]!.kill('SIGKILL')
    relays[victim] = undefined
    const after = await call(orchTwo, 'acme/edge/two', 'after', 8_000)
    console.info(`      killed relay ${victim} (it carried the connection); next call: ${JSON.stringify(after.ok ?? after.error)} in ${String(after.ms)} ms`)
    assert.equal(after.ok, 'after', JSON.stringify(after))
    const again = await call(orchTwo, 'acme/edge/two', 'again')
    assert.equal(again.ok, 'again', JSON.stringify(again))
  })

  describe('direct upgrade (DCUtR)', () => {
    const debug = { DEBUG: 'libp2p:dcutr*' }
    const live = (): string => (relays.a === undefined ? relayAddr.b : relayAddr.a)
    /** An orchestrator on its LAN behind nat2 that announces what its NAT would map its port to. */
    const behindNat2 = (): string[] => [
      '--dcutr', DCUTR_MODULE,
      '--listen', `/ip6/${topo!.ip.orchLan6}/tcp/${PUNCH_PORT}`,
      '--announce', `/ip6/${topo!.ip.orchWan6}/tcp/${PUNCH_PORT}`
    ]
    let loaded = ''

    it('both behind NAT: DCUtR cannot upgrade (calls stay relayed and keep working) — reports why', async function () {
      const ip = topo!.ip
      // each side listens on its LAN and announces the address its NAT would map the listening port
      // to, as AutoNAT or a perfect observed address would: the best case for a TCP hole punch
      const edge = startEdge('punch', [live()], [
        '--dcutr', DCUTR_MODULE,
        '--listen', `/ip6/${ip.edgeLan6}/tcp/${PUNCH_PORT}`,
        '--announce', `/ip6/${ip.edgeWan6}/tcp/${PUNCH_PORT}`
      ], debug)
      const orch = startOrch('punch', topo!.ns.orch, [live()], behindNat2(), debug)
      const [edgeReady] = await Promise.all([ready(edge), ready(orch)])
      loaded = String(edge.messages.find((m) => m.dcutr !== undefined)?.dcutr)
      const answer = await call(orch, 'acme/edge/punch', 'punch')
      assert.equal(answer.ok, 'punch', JSON.stringify(answer))
      // the edge (the inbound side) tries a unilateral upgrade, then up to 3 hole punches
      const started = Date.now()
      let direct: string | undefined
      while (loaded.startsWith('enabled') && Date.now() - started < 6_000) {
        direct = (await connectionsTo(orch, edgeReady.peerId)).find((c) => c.direct)?.addr
        if (direct !== undefined || dcutrLog(edge).filter((l) => l.includes('attempt 3 of 3')).length > 0) break
        await sleep(250)
      }
      const again = await call(orch, 'acme/edge/punch', 'still')
      assert.equal(again.ok, 'still', JSON.stringify(again))
      const log = dcutrLog(edge)
      for (const line of log.slice(0, 8)) console.info(`        edge dcutr: ${line}`)
      const report = !loaded.startsWith('enabled')
        ? `not attempted: DCUtR ${loaded}`
        : direct === undefined
          ? `no upgrade (${log.filter((l) => l.startsWith('ERROR')).length} failed attempts logged): a TCP dial leaves from an ephemeral port, never the listening one, so the NATs' conntrack matches neither SYN; calls stay relayed`
          : `UNEXPECTED direct connection ${direct}`
      console.info(`      HOLE PUNCHING (DCUtR, TCP) BETWEEN TWO NATS: ${report}`)
      this.test!.title += ` → ${report.split(':')[0]!}`
      assert.equal(direct, undefined, 'a TCP hole punch through two masquerading NATs cannot succeed')
      await Promise.all([edge.kill('SIGTERM'), orch.kill('SIGTERM')])
    })

    it('edge behind NAT, orchestrator with a public address: DCUtR moves the calls to a direct connection, a call in flight on the relayed one finishes, and the relay leaves the data path', async function () {
      const ip = topo!.ip
      const publicAddr = `/ip6/${ip.opub6}/tcp/${PUBLIC_PORT}`
      const edge = startEdge('direct', [live()], ['--dcutr', DCUTR_MODULE], debug)
      const orch = startOrch('public', topo!.ns.opub, [live()], ['--dcutr', DCUTR_MODULE, '--listen', publicAddr, '--announce', publicAddr], debug)
      const [edgeReady] = await Promise.all([ready(edge), ready(orch)])
      loaded = String(edge.messages.find((m) => m.dcutr !== undefined)?.dcutr)
      if (!loaded.startsWith('enabled')) {
        const report = `NOT PROVEN: DCUtR ${loaded} (set AGENTMESH_DCUTR_MODULE, or add @libp2p/dcutr)`
        console.info(`      DIRECT UPGRADE: ${report}`)
        this.test!.title += ` → ${report}`
        assert.ok(!REQUIRE_DCUTR, report)
        return
      }
      // threat: an upgrade that closes the relayed connection under a call kills the call (UNAVAILABLE).
      // The first call is the slow one: it opens the relayed connection, so DCUtR (100-200 ms after
      // the connection opens) always upgrades while it runs
      const { across, toEdge, directAt, sawRelayed, took } = await slowCallAcrossUpgrade(orch, 'acme/edge/direct', edgeReady.peerId, 'across the upgrade')
      assert.ok(sawRelayed, 'the slow call started on a relayed connection')
      assert.ok(directAt !== undefined && directAt < SLOW_CALL_MS, `the direct connection came up while the slow call ran (after ${directAt} ms)`)
      // a DCUtR module of the test's own replaces agentmesh's, which is what lets the call finish
      if (DCUTR_MODULE === 'builtin') {
        assert.equal(across.ok, 'across the upgrade', JSON.stringify(across))
        assert.ok(took >= SLOW_CALL_MS, `the relayed connection outlived the call on it (closed after ${took} ms)`)
      }
      for (const line of dcutrLog(edge).slice(0, 4)) console.info(`        edge dcutr: ${line}`)
      assert.ok(toEdge.length > 0 && toEdge.every((c) => c.direct), `only direct connections to the edge: ${JSON.stringify(toEdge)}`)
      // the edge dialled out through its NAT: the orchestrator sees the NAT's public address
      assert.ok(toEdge.every((c) => c.addr.startsWith(`/ip6/${ip.edgeWan6}/tcp/`)), JSON.stringify(toEdge))
      const direct = await call(orch, 'acme/edge/direct', 'direct')
      assert.equal(direct.ok, 'direct', JSON.stringify(direct))
      // proof that the relay is out of the data path: kill every relay, the next call still works
      await Promise.all((['a', 'b'] as const).map(async (which) => relays[which]?.kill('SIGKILL')))
      relays.a = undefined
      relays.b = undefined
      const without = await call(orch, 'acme/edge/direct', 'no relay')
      assert.equal(without.ok, 'no relay', JSON.stringify(without))
      const report = `direct ${directAt} ms after the first call started, to ${toEdge[0]!.addr.split('/p2p/')[0]!}; relayed connection closed after the ${SLOW_CALL_MS} ms call in flight on it finished (${took} ms); calls work with every relay killed`
      console.info(`      DIRECT UPGRADE (DCUtR): ${report}`)
      this.test!.title += ` → ${report}`
    })

    it('edge with a public address, orchestrator behind NAT: the orchestrator dials the edge (hole-punch path) and its call in flight on the relayed connection finishes', async function () {
      const ip = topo!.ip
      // the relays were killed by the test before: start them again
      const restart = (['a', 'b'] as const).filter((which) => relays[which] === undefined)
      for (const which of restart) relays[which] = startRelay(which)
      await Promise.all(restart.map(async (which) => await ready(relays[which]!)))
      const publicAddr = `/ip6/${ip.opub6}/tcp/${PUBLIC_EDGE_PORT}`
      const edge = startEdge('public', [live()], ['--dcutr', DCUTR_MODULE, '--listen', publicAddr, '--announce', publicAddr], debug, topo!.ns.opub)
      // the orchestrator announces what its NAT would map its port to: the edge's dial to it fails
      // (the NAT lets no connection in), so the edge sends its own address and the orchestrator dials
      const orch = startOrch('natted', topo!.ns.orch, [live()], behindNat2(), debug)
      const [edgeReady] = await Promise.all([ready(edge), ready(orch)])
      if (!String(edge.messages.find((m) => m.dcutr !== undefined)?.dcutr).startsWith('enabled') || DCUTR_MODULE !== 'builtin') {
        this.test!.title += ' → NOT PROVEN: needs agentmesh\'s own DCUtR (AGENTMESH_DCUTR_MODULE unset)'
        assert.ok(!REQUIRE_DCUTR || DCUTR_MODULE !== 'builtin', 'DCUtR is not running')
        return
      }
      // threat: the side that dials the direct connection (here the caller) closes the relayed one
      // under its own call; only the caller's count of its calls in flight keeps it open. The slow
      // call is the first: it opens the relayed connection, so the upgrade comes while it runs
      const { across, toEdge, directAt, sawRelayed, took } = await slowCallAcrossUpgrade(orch, 'acme/edge/public', edgeReady.peerId, 'across the punch')
      for (const line of dcutrLog(edge).slice(0, 6)) console.info(`        edge dcutr: ${line}`)
      assert.ok(sawRelayed, 'the slow call started on a relayed connection')
      assert.equal(across.ok, 'across the punch', JSON.stringify(across))
      assert.ok(directAt !== undefined && directAt < SLOW_CALL_MS, `the direct connection came up while the slow call ran (after ${directAt} ms)`)
      assert.ok(took >= SLOW_CALL_MS, `the relayed connection outlived the call on it (closed after ${took} ms)`)
      assert.ok(toEdge.length > 0 && toEdge.every((c) => c.direct && c.addr.startsWith(`/ip6/${ip.opub6}/tcp/${PUBLIC_EDGE_PORT}`)), JSON.stringify(toEdge))
      const after = await call(orch, 'acme/edge/public', 'direct')
      assert.equal(after.ok, 'direct', JSON.stringify(after))
      const report = `direct ${directAt} ms after the first call started, dialled by the orchestrator to ${publicAddr}; relayed connection closed after the ${SLOW_CALL_MS} ms call on it finished (${took} ms)`
      console.info(`      DIRECT UPGRADE (DCUtR, caller dials): ${report}`)
      this.test!.title += ` → ${report}`
      await Promise.all([edge.kill('SIGTERM'), orch.kill('SIGTERM')])
    })
  })
})

import assert from 'node:assert/strict'
import type { Connection, Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { createRelay, type Relay } from '../../src/index.ts'
import { generateSigner } from '../../src/identity/index.ts'
import {
  DIRECTORY_PROTOCOL,
  grantName,
  listRecords,
  lookupRecord,
  NameResolver,
  registerRecord,
  type SignedNameRecord,
  signNameRecord
} from '../../src/names/index.ts'
import { createAgentNode } from '../../src/net/index.ts'
import { encodeMessage } from '../../src/rpc/index.ts'
import { invoke, MemoryRevocationStore } from '../../src/ucan/index.ts'
import { type Mesh, nowSeconds, rejectsWithCode, sleep, startMesh } from '../fixtures/mesh.ts'

/** Make `relay` answer every resolve with `answer()`: a relay that lies. */
async function makeLiar(relay: Relay, answer: () => unknown): Promise<void> {
  await relay.node.handle(
    DIRECTORY_PROTOCOL,
    (stream: Stream) => {
      stream.send(encodeMessage({ v: 1, type: 'record', record: answer() }))
      stream.close().catch(() => {})
    },
    { force: true, runOnLimitedConnection: true }
  )
}

describe('names you can trust: a lying relay is caught by the resolver', () => {
  let mesh: Mesh
  let liar: Relay
  let other: SignedNameRecord
  let forged: SignedNameRecord
  let rogueRooted: SignedNameRecord
  let expired: SignedNameRecord

  before(async () => {
    mesh = await startMesh({ name: 'acme/prod/target' })
    mesh.agent.handle('/who', () => 'the real target')
    liar = await createRelay({ trust: { acme: mesh.authority.did } })
    // a valid record, but of another name
    const otherKey = generateSigner()
    other = await signNameRecord({
      signer: otherKey,
      name: 'acme/prod/other',
      addrs: [`${mesh.relay.addrs[0]}/p2p-circuit/p2p/${otherKey.toPrivateKey().publicKey.toString()}`],
      ttl: 60_000,
      proofs: [await grantName({ issuer: mesh.authority, audience: otherKey.did, name: 'acme/prod/other', expiration: nowSeconds() + 600 })]
    })
    // an impostor's record for the target, with a right it gave itself from a rogue "acme"
    const impostor = generateSigner()
    const rogue = generateSigner()
    rogueRooted = await signNameRecord({
      signer: impostor,
      name: 'acme/prod/target',
      addrs: ['/ip4/127.0.0.1/tcp/1/p2p/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'],
      ttl: 60_000,
      proofs: [await grantName({ issuer: rogue, audience: impostor.did, name: 'acme/prod/target', expiration: nowSeconds() + 600 })]
    })
    // a token carried with proofs that are not the ones it links to
    forged = { token: other.token, proofs: [mesh.nameRight.bytes] }
    // the real agent's record, already expired
    expired = { token: (await invoke({
      issuer: mesh.agentKey,
      subject: mesh.authority.did,
      command: '/agentmesh/name',
      args: { name: 'acme/prod/target', addrs: [], seq: 1 },
      proofs: [mesh.nameRight],
      expiration: nowSeconds() - 120
    })).bytes, proofs: [mesh.nameRight.bytes] }
  })

  after(async () => {
    await liar.stop()
    await mesh.stop()
  })

  function resolverOf(relays: Relay[]): NameResolver {
    return new NameResolver(
      { dial: (addr) => mesh.caller.node.dial(multiaddr(addr)) },
      { relays: relays.map((r) => r.addrs[0]!), trust: { acme: mesh.authority.did } }
    )
  }

  for (const [what, answer] of [
    ['a record of another name', () => other],
    ['a record rooted in a rogue authority', () => rogueRooted],
    ['a record whose proofs do not match its token', () => forged],
    ['an expired record of the right agent', () => expired],
    ['garbage instead of a record', () => ({ token: new Uint8Array([1, 2, 3]), proofs: [] })],
    ['a record that is not even a map', () => 'trust me']
  ] as const) {
    it(`refuses ${what}: NOT_FOUND, never a connection to the wrong peer`, async () => {
      await makeLiar(liar, answer as () => unknown)
      await rejectsWithCode(resolverOf([liar]).resolve('acme/prod/target'), 'NOT_FOUND')
    })
  }

  it('takes the valid record from the honest relay when another relay lies, and calls the real agent', async () => {
    await makeLiar(liar, () => rogueRooted)
    const record = await resolverOf([liar, mesh.relay]).resolve('acme/prod/target')
    assert.equal(record.peer, mesh.agent.peerId)
    const caller = await mesh.newCaller({ relays: [liar.addrs[0]!, mesh.relay.addrs[0]!], proofs: [mesh.grant], identity: mesh.callerKey })
    try {
      assert.equal(await caller.call('acme/prod/target', '/who'), 'the real target')
    } finally {
      await caller.stop()
    }
  })

  it('keeps the newest valid record when a relay serves an older one', async () => {
    const older = await signNameRecord({
      signer: mesh.agentKey,
      name: 'acme/prod/target',
      addrs: ['/ip4/127.0.0.1/tcp/9/p2p/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'],
      seq: 1,
      ttl: 60_000,
      proofs: [mesh.nameRight]
    })
    await makeLiar(liar, () => older)
    const record = await resolverOf([liar, mesh.relay]).resolve('acme/prod/target')
    assert.ok(record.seq > 1)
    assert.deepEqual(record.addrs, mesh.agent.addrs)
  })
})

describe('the relay directory verifies before it stores (real relay, real connections)', () => {
  let mesh: Mesh
  let conn: Connection

  before(async () => {
    mesh = await startMesh({ name: 'acme/prod/k8s' })
    conn = await mesh.agent.node.dial(multiaddr(mesh.relay.addrs[0]!))
  })

  after(async () => {
    await mesh.stop()
  })

  it('refuses a record whose naming right covers acme/dev/* when the name is acme/prod/x (MatchError)', async () => {
    const devOps = generateSigner()
    const sub = await grantName({ issuer: mesh.authority, audience: devOps.did, name: 'acme/dev/*', expiration: nowSeconds() + 600 })
    // the dev sub-authority oversteps: it grants a prod name
    const overstep = await grantName({
      issuer: devOps,
      audience: mesh.agentKey.did,
      subject: mesh.authority.did,
      name: 'acme/prod/x',
      expiration: nowSeconds() + 600
    })
    const signed = await signNameRecord({ signer: mesh.agentKey, name: 'acme/prod/x', addrs: [], ttl: 60_000, proofs: [sub, overstep] })
    const err = await rejectsWithCode(registerRecord(conn, signed), 'PERMISSION_DENIED')
    assert.match(err.message, /MatchError/)
    await rejectsWithCode(lookupRecord(conn, 'acme/prod/x'), 'NOT_FOUND')
  })

  it('accepts a name granted through a sub-authority for its subtree', async () => {
    const prodOps = generateSigner()
    const sub = await grantName({ issuer: mesh.authority, audience: prodOps.did, name: 'acme/prod/*', expiration: nowSeconds() + 600 })
    const right = await grantName({
      issuer: prodOps,
      audience: mesh.agentKey.did,
      subject: mesh.authority.did,
      name: 'acme/prod/sub',
      expiration: nowSeconds() + 600
    })
    const signed = await signNameRecord({ signer: mesh.agentKey, name: 'acme/prod/sub', addrs: [], ttl: 60_000, proofs: [sub, right] })
    await registerRecord(conn, signed)
    assert.ok(await lookupRecord(conn, 'acme/prod/sub'))
  })

  it('does not let a replayed older record evict the newer one (ALREADY_EXISTS)', async () => {
    const newer = await signNameRecord({ signer: mesh.agentKey, name: 'acme/prod/k8s', addrs: mesh.agent.addrs, seq: Date.now() + 10_000, ttl: 60_000, proofs: [mesh.nameRight] })
    const older = await signNameRecord({ signer: mesh.agentKey, name: 'acme/prod/k8s', addrs: [], seq: 5, ttl: 60_000, proofs: [mesh.nameRight] })
    await registerRecord(conn, newer)
    await rejectsWithCode(registerRecord(conn, older), 'ALREADY_EXISTS')
    const held = (await lookupRecord(conn, 'acme/prod/k8s')) as SignedNameRecord
    assert.deepEqual(held.token, newer.token)
  })

  it("refuses a record registered by another peer than the one it names (a relay's caller cannot plant records)", async () => {
    const signed = await signNameRecord({ signer: mesh.agentKey, name: 'acme/prod/k8s', addrs: [], seq: Date.now() + 20_000, ttl: 60_000, proofs: [mesh.nameRight] })
    const callerConn = await mesh.caller.node.dial(multiaddr(mesh.relay.addrs[0]!))
    await rejectsWithCode(registerRecord(callerConn, signed), 'PERMISSION_DENIED')
  })

  it('refuses a record resting on a revoked naming right', async () => {
    const revoked = new MemoryRevocationStore()
    revoked.revoke(mesh.nameRight.cid)
    const strict = await createRelay({ trust: { acme: mesh.authority.did }, revoked })
    try {
      const c = await mesh.agent.node.dial(multiaddr(strict.addrs[0]!))
      const signed = await signNameRecord({ signer: mesh.agentKey, name: 'acme/prod/k8s', addrs: [], ttl: 60_000, proofs: [mesh.nameRight] })
      const err = await rejectsWithCode(registerRecord(c, signed), 'PERMISSION_DENIED')
      assert.match(err.message, /Revoked/)
    } finally {
      await strict.stop()
    }
  })

  it('rate limits a flood of registrations from one peer, and keeps serving others', async () => {
    const started = Date.now()
    const results = await Promise.allSettled(
      Array.from({ length: 80 }, async (_, i) =>
        registerRecord(
          conn,
          await signNameRecord({ signer: mesh.agentKey, name: 'acme/prod/k8s', addrs: mesh.agent.addrs, seq: Date.now() + 30_000 + i, ttl: 60_000, proofs: [mesh.nameRight] })
        )
      )
    )
    const limited = results.filter((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'RESOURCE_EXHAUSTED')
    // 60 a minute with a burst of 60: whatever the elapsed time refilled, the rest is refused
    const allowed = 60 + Math.ceil((Date.now() - started) / 1000)
    const accepted = results.filter((r) => r.status === 'fulfilled').length
    assert.ok(limited.length > 0 && accepted <= allowed, `${accepted} accepted, ${limited.length} of 80 rate limited`)
    const callerConn = await mesh.caller.node.dial(multiaddr(mesh.relay.addrs[0]!))
    assert.ok(await lookupRecord(callerConn, 'acme/prod/k8s'), 'other peers are still served')
  })

  it('answers truncated and oversized directory messages with an error and keeps serving', async () => {
    for (const bytes of [
      encodeMessage({ v: 1, type: 'resolve', name: 'acme/prod/k8s' }).subarray(0, 6),
      Uint8Array.of(0xff, 0xff, 0x7f),
      new Uint8Array(70 * 1024)
    ]) {
      const stream = await conn.newStream(DIRECTORY_PROTOCOL)
      stream.send(bytes)
      await stream.close()
      const chunks: Uint8Array[] = []
      try {
        for await (const chunk of stream) chunks.push(chunk instanceof Uint8Array ? chunk : chunk.subarray())
      } catch {
        // a reset is an acceptable answer too
      }
    }
    assert.ok(await lookupRecord(conn, 'acme/prod/k8s'))
  })

  it('lists the names under a prefix, each record verifiable', async () => {
    const records = await listRecords(conn, 'acme/prod')
    assert.ok(records.length >= 2)
    const resolver = new NameResolver({ dial: () => Promise.resolve(conn) }, { relays: [mesh.relay.addrs[0]!], trust: { acme: mesh.authority.did } })
    const names = (await resolver.list('acme/prod')).map((r) => r.name)
    assert.ok(names.includes('acme/prod/k8s') && names.includes('acme/prod/sub'))
    assert.deepEqual(await listRecords(conn, 'acme/dev'), [])
  })

  it('pushes changes and expiries to watchers, and a watching resolver keeps its cache true', async () => {
    const resolver = new NameResolver({ dial: (a) => mesh.caller.node.dial(multiaddr(a)) }, { relays: [mesh.relay.addrs[0]!], trust: { acme: mesh.authority.did } })
    const before = await resolver.resolve('acme/prod/k8s')
    const changes: string[] = []
    const controller = new AbortController()
    const watching = resolver.watch('acme/prod', { signal: controller.signal, onChange: (name) => changes.push(name) })
    await sleep(200)
    const next = await signNameRecord({ signer: mesh.agentKey, name: 'acme/prod/k8s', addrs: mesh.agent.addrs, seq: before.seq + 1_000_000, ttl: 4000, proofs: [mesh.nameRight] })
    await sleep(1100) // the rate limiter refills after the flood above
    await registerRecord(conn, next)
    for (let i = 0; i < 30 && !changes.includes('acme/prod/k8s'); i++) await sleep(50)
    assert.equal(resolver.cached('acme/prod/k8s')?.seq, before.seq + 1_000_000, 'the watch replaced the cached record')
    // the short record expires: the relay sweeps it and tells the watcher
    for (let i = 0; i < 80 && resolver.cached('acme/prod/k8s') !== undefined; i++) await sleep(100)
    assert.equal(resolver.cached('acme/prod/k8s'), undefined)
    controller.abort()
    await watching
  })
})

describe('relay admission: reservations only for peers with a naming right', () => {
  let mesh: Mesh

  before(async () => {
    mesh = await startMesh({ name: 'acme/prod/admitted' })
  })

  after(async () => {
    await mesh.stop()
  })

  it('reserves a slot for the agent that proved its naming right', () => {
    assert.equal(mesh.relay.reservationCount(), 1)
    assert.ok(mesh.agent.addrs.length > 0)
  })

  it('refuses a reservation to a peer without a naming right: it gets no circuit address', async () => {
    const node = await createAgentNode({ relays: [mesh.relay.addrs[0]!] }).catch((err: Error) => err)
    try {
      if (!(node instanceof Error)) {
        await sleep(500)
        assert.deepEqual(node.getMultiaddrs().filter((a) => a.toString().includes('p2p-circuit')), [])
        assert.ok(mesh.relay.admission.refusals.has(node.peerId.toString()))
      }
      assert.equal(mesh.relay.reservationCount(), 1, 'still only the admitted agent')
    } finally {
      if (!(node instanceof Error)) await node.stop()
    }
  })

  it('refuses to start a named agent that holds no right to its name', async () => {
    await rejectsWithCode(mesh.newCaller({ name: 'acme/prod/squatter' }), 'PERMISSION_DENIED')
  })

  it('refuses a relay with no trust and no allow list: it would be an open proxy', async () => {
    await rejectsWithCode(createRelay({}), 'INVALID_ARGUMENT')
  })

  it('admits a peer on the allow list without a naming right', async () => {
    const key = generateSigner()
    const relay = await createRelay({ allow: [key.toPrivateKey().publicKey.toString()] })
    try {
      const node = await createAgentNode({ relays: [relay.addrs[0]!], privateKey: key.toPrivateKey() })
      try {
        for (let i = 0; i < 20 && relay.reservationCount() === 0; i++) await sleep(100)
        assert.equal(relay.reservationCount(), 1)
      } finally {
        await node.stop()
      }
    } finally {
      await relay.stop()
    }
  })
})

describe('several relays', () => {
  it('registers on every relay and resolves through any of them', async () => {
    const mesh = await startMesh({ name: 'acme/prod/multi' })
    const second = await createRelay({ trust: { acme: mesh.authority.did } })
    try {
      const agent = await mesh.newAgent('acme/prod/both', { relays: [mesh.relay.addrs[0]!, second.addrs[0]!] })
      agent.handle('/ping', () => 'pong')
      for (const relay of [mesh.relay, second]) {
        const c = await mesh.caller.node.dial(multiaddr(relay.addrs[0]!))
        assert.ok(await lookupRecord(c, 'acme/prod/both'), `registered on ${relay.peerId}`)
      }
      const onlySecond = await mesh.newCaller({ relays: [second.addrs[0]!], identity: mesh.callerKey, proofs: [mesh.grant] })
      assert.equal(await onlySecond.call('acme/prod/both', '/ping'), 'pong')
      await onlySecond.stop()
      await agent.stop()
    } finally {
      await second.stop()
      await mesh.stop()
    }
  })
})

import assert from 'node:assert/strict'
import { createRelay, MeshError } from '../../src/index.ts'
import { type Mesh, rejectsWithCode, sleep, startMesh } from '../fixtures/mesh.ts'

describe('calling an agent by name through a relay (real libp2p nodes, WebSockets)', () => {
  let mesh: Mesh

  before(async () => {
    mesh = await startMesh({ name: 'acme/prod/demo' })
    mesh.agent
      .handle('/greet', (args: { who: string }) => `hello ${args.who}`)
      .handle('/echo', (args: unknown) => args)
      .handle('/boom', () => {
        throw new Error('secret path /etc/agent/key leaked in a message')
      })
      .handle('/refuse', () => {
        throw new MeshError('FAILED_PRECONDITION', 'the cluster is frozen', { details: { frozen: true } })
      })
  })

  after(async () => {
    await mesh.stop()
  })

  it('reaches the agent by name over a relayed (circuit) connection', async () => {
    const result = await mesh.caller.call('acme/prod/demo', '/greet', { who: 'world' })
    assert.equal(result, 'hello world')
    const toAgent = mesh.caller.node
      .getConnections()
      .filter((c) => c.remotePeer.toString() === mesh.agent.peerId)
    assert.ok(toAgent.length > 0)
    assert.ok(
      toAgent.every((c) => c.remoteAddr.toString().includes('/p2p-circuit')),
      'the caller reaches the agent only through the relay'
    )
  })

  it('the edge agent opens no listening socket: its only addresses are circuit addresses', () => {
    assert.ok(mesh.agent.addrs.length > 0)
    for (const addr of mesh.agent.node.getMultiaddrs()) {
      assert.match(addr.toString(), /\/p2p-circuit\//)
    }
  })

  it('reports the relay use: one reservation, one admitted agent, one record, one open circuit', async () => {
    await mesh.caller.call('acme/prod/demo', '/greet', { who: 'metrics' })
    const metrics = mesh.relay.metrics()
    assert.equal(metrics.reservations, 1)
    assert.equal(metrics.admitted, 1)
    assert.equal(metrics.records, 1)
    assert.equal(metrics.circuits, 1)
    assert.ok(metrics.rssBytes > 0)
  })

  it("resolves a name to the agent's verified record and did:key", async () => {
    const record = await mesh.caller.resolve('acme/prod/demo')
    assert.equal(record.peer, mesh.agent.peerId)
    assert.equal(record.did, mesh.agent.did)
    assert.deepEqual(record.addrs, mesh.agent.addrs)
  })

  it('answers NOT_FOUND for a name nobody registered', async () => {
    await rejectsWithCode(mesh.caller.call('acme/prod/nobody', '/greet', { who: 'x' }), 'NOT_FOUND')
  })

  it('answers INVALID_ARGUMENT for a malformed name, before any network use', async () => {
    await rejectsWithCode(mesh.caller.call('Not A Name', '/greet', {}), 'INVALID_ARGUMENT')
  })

  it('answers UNIMPLEMENTED for an intent the agent does not serve', async () => {
    await rejectsWithCode(mesh.caller.call('acme/prod/demo', '/nope', {}), 'UNIMPLEMENTED')
  })

  it('turns a handler crash into INTERNAL without leaking its message, and keeps serving', async () => {
    const err = await rejectsWithCode(mesh.caller.call('acme/prod/demo', '/boom', {}), 'INTERNAL')
    assert.ok(!err.message.includes('/etc/agent'), 'the local error message must not cross the wire')
    assert.equal(await mesh.caller.call('acme/prod/demo', '/greet', { who: 'again' }), 'hello again')
  })

  it('carries a MeshError thrown by a handler with its code, message and details', async () => {
    const err = await rejectsWithCode(
      mesh.caller.call('acme/prod/demo', '/refuse', {}),
      'FAILED_PRECONDITION'
    )
    assert.ok(err instanceof MeshError)
    assert.equal(err.message, 'the cluster is frozen')
    assert.deepEqual(err.details, { frozen: true })
  })

  it('carries DAG-CBOR values intact: bytes, nested maps, null, large integers', async () => {
    const value = {
      bytes: new Uint8Array([0, 1, 2, 255]),
      nested: { list: [1, 'two', null] },
      big: 2 ** 53 - 1
    }
    assert.deepEqual(await mesh.caller.call('acme/prod/demo', '/echo', value), value)
  })

  it('moves a 1 MiB argument and a 1 MiB result through the relay', async () => {
    const big = new Uint8Array(1024 * 1024)
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff
    const result = await mesh.caller.call<Uint8Array>('acme/prod/demo', '/echo', big, { timeout: 20_000 })
    assert.equal(result.byteLength, big.byteLength)
    assert.deepEqual(result, big)
  })

  it('moves a 16 MiB result through the relay: flow control keeps working with deferred window updates', async () => {
    mesh.agent.handle('/blob', (args: { mib: number }) => new Uint8Array(args.mib * 1024 * 1024).fill(7))
    const result = await mesh.caller.call<Uint8Array>('acme/prod/demo', '/blob', { mib: 16 }, { timeout: 60_000 })
    assert.equal(result.byteLength, 16 * 1024 * 1024)
    assert.equal(result[result.length - 1], 7)
  })

  it('runs many calls at once on one relayed connection', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => mesh.caller.call('acme/prod/demo', '/greet', { who: String(i) }))
    )
    assert.deepEqual(
      results,
      Array.from({ length: 50 }, (_, i) => `hello ${i}`)
    )
  })

  it('keeps the relayed connection unlimited (no 2 min / 128 KiB hole-punching limits)', async () => {
    await mesh.caller.call('acme/prod/demo', '/greet', { who: 'x' })
    for (const conn of mesh.caller.node.getConnections()) {
      assert.equal(
        conn.limits,
        undefined,
        `connection ${conn.remoteAddr.toString()} must carry no relay limit`
      )
    }
    const reservation = [
      ...(
        mesh.relay.node.services.relay as { reservations: Map<unknown, { limit?: unknown }> }
      ).reservations.values()
    ][0]
    assert.ok(reservation !== undefined)
    assert.equal(reservation.limit, undefined)
  })

  it('still calls on the same relayed connection after it outlived a configured relay limit', async () => {
    // With a relay configured with a 1.5 s duration limit the circuit dies; the default relay's circuit does not.
    const limited = await startMesh({ name: 'acme/prod/limited', relay: { limits: { durationMs: 1500 } } })
    try {
      limited.agent.handle('/echo', (args: unknown) => args)
      assert.equal(await limited.caller.call('acme/prod/limited', '/echo', 1), 1)
      await mesh.caller.call('acme/prod/demo', '/echo', 1)
      const before = mesh.caller.node.getConnections(mesh.agent.node.peerId)[0]
      await sleep(2500)
      const limitedConns = limited.caller.node.getConnections(limited.agent.node.peerId)
      assert.equal(limitedConns.length, 0, 'the limited relay closed its circuit after 1.5 s')
      assert.equal(await mesh.caller.call('acme/prod/demo', '/echo', 2), 2)
      const after = mesh.caller.node.getConnections(mesh.agent.node.peerId)[0]
      assert.equal(after?.id, before?.id, 'the unlimited circuit is the same connection, still open')
    } finally {
      await limited.stop()
    }
  })

  it('refuses relay limits that cannot mean what they say (a data limit of 0, a fractional or overlong duration ended every circuit at once) with INVALID_ARGUMENT', async () => {
    const trust = { acme: mesh.authority.did }
    const bad = [
      { dataBytes: 0n },
      { dataBytes: -1n },
      { durationMs: 0 },
      { durationMs: Number.NaN },
      { durationMs: 1500.5 },
      { durationMs: 3e9 },
      { reservationTtlMs: 4000.5 },
      { reservationTtlMs: -5 },
      { maxReservations: 0 },
      { maxReservations: 2.5 }
    ]
    for (const limits of bad) {
      const err = await createRelay({ trust, listen: ['/ip4/127.0.0.1/tcp/0'], limits }).then(
        async (relay) => {
          await relay.stop()
          return undefined
        },
        (e: unknown) => e
      )
      assert.ok(MeshError.is(err, 'INVALID_ARGUMENT'), `${String(Object.keys(limits)[0])}: ${String(err)}`)
      assert.match((err as Error).message, /leave it out for no limit/)
    }
    const fine = await createRelay({
      trust,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      limits: { dataBytes: 1n << 20n, durationMs: 2 ** 31 - 1, reservationTtlMs: 4_000, maxReservations: 3 }
    })
    await fine.stop()
  })
})

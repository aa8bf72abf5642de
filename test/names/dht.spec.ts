import assert from 'node:assert/strict'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p } from 'libp2p'
import { type Ed25519Signer, generateSigner, peerIdFromDid } from '../../src/identity/index.ts'
import {
  agentmeshDht,
  DhtNameResolver,
  encodeNameRecordValue,
  grantName,
  MAX_DHT_RECORD_BYTES,
  NAME_COMMAND,
  nameFromKey,
  nameKey,
  nameRecordSelector,
  nameRecordValidator,
  publishNameRecord,
  resolveNameFromDht,
  type SignedNameRecord,
  signNameRecord
} from '../../src/names/index.ts'
import { encodeCbor, invoke } from '../../src/ucan/index.ts'
import { waitFor } from '../fixtures/wait.ts'
import { nowSeconds, rejectsWithCode, sleep } from '../fixtures/mesh.ts'
import type { KadDHT, SingleKadDHT } from '@libp2p/kad-dht'

type DhtNode = Libp2p<{ dht: KadDHT }>

const NODES = 5

async function startDhtNode(trust: Record<string, string>): Promise<DhtNode> {
  return (await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      ping: ping(),
      dht: agentmeshDht({ trust, clientMode: false, addresses: 'all' })
    }
  })) as unknown as DhtNode
}

function routingTableSize(node: DhtNode): number {
  return (node.services.dht as SingleKadDHT).routingTable.size
}

describe('names in the DHT (5 kad-dht nodes, TCP on 127.0.0.1)', function () {
  this.timeout(60_000)
  const nodes: DhtNode[] = []
  let acme: Ed25519Signer
  let trust: Record<string, string>

  async function agentRecord(
    name: string,
    options: { seq?: number; ttl?: number; key?: Ed25519Signer; addrs?: string[] } = {}
  ): Promise<{ key: Ed25519Signer; signed: SignedNameRecord }> {
    const key = options.key ?? generateSigner()
    const right = await grantName({ issuer: acme, audience: key.did, name, expiration: nowSeconds() + 3600 })
    const signed = await signNameRecord({
      signer: key,
      name,
      addrs: options.addrs ?? ['/dns4/relay.example/tcp/443/wss/p2p-circuit'],
      ...(options.seq === undefined ? {} : { seq: options.seq }),
      ttl: options.ttl ?? 300_000,
      proofs: [right]
    })
    return { key, signed }
  }

  /** Put raw bytes under a key, as an attacker's node would, bypassing every local check. */
  async function rawPut(node: DhtNode, key: Uint8Array, value: Uint8Array): Promise<number> {
    let accepted = 0
    for await (const event of node.services.dht.put(key, value, { signal: AbortSignal.timeout(20_000) })) {
      if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE' && event.record !== undefined) accepted++
    }
    return accepted
  }

  before(async () => {
    acme = generateSigner()
    trust = { acme: acme.did }
    for (let i = 0; i < NODES; i++) nodes.push(await startDhtNode(trust))
    // a line: 0 - 1 - 2 - 3 - 4; the ends only learn of each other through the DHT
    for (let i = 0; i + 1 < NODES; i++) await nodes[i]!.dial(nodes[i + 1]!.getMultiaddrs())
    // then the DHT's own queries make every node learn of every other one (refreshed until they have)
    let lastRefresh = Date.now()
    await waitFor('every routing table to hold every other node', () => {
      const full = nodes.every((n) => routingTableSize(n) === NODES - 1)
      if (!full && Date.now() - lastRefresh > 1_500) {
        lastRefresh = Date.now()
        for (const n of nodes) if (routingTableSize(n) < NODES - 1) void n.services.dht.refreshRoutingTable()
      }
      return full
    }, 30_000)
  })

  after(async () => {
    await Promise.allSettled(nodes.map((n) => n.stop()))
  })

  it('keys a name as /agentmesh/<name>, the namespace kad-dht picks the validator by', () => {
    const key = nameKey('acme/prod/k8s')
    assert.equal(new TextDecoder().decode(key), '/agentmesh/acme/prod/k8s')
    assert.equal(new TextDecoder().decode(key).split('/')[1], 'agentmesh')
    assert.equal(nameFromKey(key), 'acme/prod/k8s')
    assert.throws(() => nameFromKey(new TextEncoder().encode('/ipns/acme/prod')), { code: 'INVALID_ARGUMENT' })
    assert.throws(() => nameKey('Acme/x'), { code: 'INVALID_ARGUMENT' })
  })

  it('resolves, on a node the publisher is not connected to, the record it published, verified', async () => {
    const publisher = nodes[0]!
    const resolver = nodes[NODES - 1]!
    const { key, signed } = await agentRecord('acme/prod/k8s', { seq: 1 })
    const { accepted } = await publishNameRecord(publisher.services.dht, signed)
    assert.ok(accepted >= 3, `stored on ${accepted} peers`)
    // the put dialled the closest peers; hang up so the resolver has to go through the DHT again
    await resolver.hangUp(publisher.peerId)
    assert.equal(resolver.getConnections(publisher.peerId).length, 0)
    const record = await resolveNameFromDht(resolver.services.dht, 'acme/prod/k8s', { trust })
    assert.equal(record.name, 'acme/prod/k8s')
    assert.equal(record.peer, peerIdFromDid(key.did).toString())
    assert.equal(record.seq, 1)
    assert.deepEqual(record.addrs, ['/dns4/relay.example/tcp/443/wss/p2p-circuit'])
    assert.deepEqual(record.signed.token, signed.token)
  })

  it('replaces an older record with a newer one (higher seq) on every node', async () => {
    const key = generateSigner()
    const old = await agentRecord('acme/prod/db', { key, seq: 10, addrs: ['/ip4/192.0.2.1/tcp/1'] })
    await publishNameRecord(nodes[1]!.services.dht, old.signed)
    assert.equal((await resolveNameFromDht(nodes[3]!.services.dht, 'acme/prod/db', { trust })).seq, 10)
    const next = await agentRecord('acme/prod/db', { key, seq: 11, addrs: ['/ip4/192.0.2.2/tcp/2'] })
    await publishNameRecord(nodes[1]!.services.dht, next.signed)
    for (const node of nodes) {
      const record = await resolveNameFromDht(node.services.dht, 'acme/prod/db', { trust })
      assert.equal(record.seq, 11)
      assert.deepEqual(record.addrs, ['/ip4/192.0.2.2/tcp/2'])
    }
  })

  it('refuses a replayed older record put over a newer one (no rollback)', async () => {
    const key = generateSigner()
    const old = await agentRecord('acme/prod/cache', { key, seq: 1 })
    const next = await agentRecord('acme/prod/cache', { key, seq: 2 })
    await publishNameRecord(nodes[0]!.services.dht, old.signed)
    await publishNameRecord(nodes[0]!.services.dht, next.signed)
    // an attacker's node replays the old, still unexpired, record
    const accepted = await rawPut(nodes[2]!, nameKey('acme/prod/cache'), encodeNameRecordValue(old.signed))
    assert.equal(accepted, 0, 'no peer stored the replayed record')
    for (const node of nodes) {
      assert.equal((await resolveNameFromDht(node.services.dht, 'acme/prod/cache', { trust })).seq, 2)
    }
  })

  it('refuses on put, and never resolves, a record signed by a key with no naming right', async () => {
    const mallory = generateSigner()
    // mallory invokes the naming command as itself: a well-formed UCAN rooted in nobody trusted
    const inv = await invoke({
      issuer: mallory,
      subject: mallory.did,
      command: NAME_COMMAND,
      args: { name: 'acme/prod/pay', addrs: ['/ip4/203.0.113.6/tcp/1'], seq: 99 },
      expiration: nowSeconds() + 300
    })
    const forged = { token: inv.bytes, proofs: [] }
    await rejectsWithCode(publishNameRecord(nodes[1]!.services.dht, forged), 'PERMISSION_DENIED')
    assert.equal(await rawPut(nodes[1]!, nameKey('acme/prod/pay'), encodeNameRecordValue(forged)), 0)
    await rejectsWithCode(resolveNameFromDht(nodes[3]!.services.dht, 'acme/prod/pay', { trust }), 'NOT_FOUND')
  })

  it('refuses on put, and never resolves, a record signed with a stolen naming right', async () => {
    const agent = await agentRecord('acme/prod/vault')
    const mallory = generateSigner()
    const right = await grantName({ issuer: acme, audience: agent.key.did, name: 'acme/prod/vault', expiration: nowSeconds() + 3600 })
    const inv = await invoke({
      issuer: mallory,
      subject: acme.did,
      command: NAME_COMMAND,
      args: { name: 'acme/prod/vault', addrs: ['/ip4/203.0.113.6/tcp/1'], seq: 99 },
      proofs: [right],
      expiration: nowSeconds() + 300
    })
    const accepted = await rawPut(nodes[1]!, nameKey('acme/prod/vault'), encodeNameRecordValue({ token: inv.bytes, proofs: [right.bytes] }))
    assert.equal(accepted, 0)
    await rejectsWithCode(resolveNameFromDht(nodes[4]!.services.dht, 'acme/prod/vault', { trust }), 'NOT_FOUND')
  })

  it('refuses on put, and never resolves, a record whose naming right comes from an untrusted authority', async () => {
    const evil = generateSigner()
    const mallory = generateSigner()
    const right = await grantName({ issuer: evil, audience: mallory.did, name: 'acme/prod/pay2', expiration: nowSeconds() + 3600 })
    const forged = await signNameRecord({ signer: mallory, name: 'acme/prod/pay2', addrs: [], ttl: 300_000, proofs: [right] })
    await rejectsWithCode(publishNameRecord(nodes[2]!.services.dht, forged), 'PERMISSION_DENIED')
    assert.equal(await rawPut(nodes[2]!, nameKey('acme/prod/pay2'), encodeNameRecordValue(forged)), 0)
    await rejectsWithCode(resolveNameFromDht(nodes[0]!.services.dht, 'acme/prod/pay2', { trust }), 'NOT_FOUND')
  })

  it("refuses on put, and never resolves, another name's valid record put under this name's key", async () => {
    const other = await agentRecord('acme/dev/toy', { seq: 1_000_000 })
    const accepted = await rawPut(nodes[3]!, nameKey('acme/prod/ledger'), encodeNameRecordValue(other.signed))
    assert.equal(accepted, 0)
    await rejectsWithCode(resolveNameFromDht(nodes[1]!.services.dht, 'acme/prod/ledger', { trust }), 'NOT_FOUND')
  })

  it('refuses on put a record that has already expired', async () => {
    const dead = await agentRecord('acme/prod/old', { ttl: -120_000 })
    const accepted = await rawPut(nodes[0]!, nameKey('acme/prod/old'), encodeNameRecordValue(dead.signed))
    assert.equal(accepted, 0)
    await rejectsWithCode(resolveNameFromDht(nodes[4]!.services.dht, 'acme/prod/old', { trust }), 'NOT_FOUND')
  })

  it('never resolves a record once it has expired, though peers stored it while it was valid', async () => {
    const { signed } = await agentRecord('acme/prod/brief', { ttl: 2_000 })
    await publishNameRecord(nodes[4]!.services.dht, signed)
    const record = await resolveNameFromDht(nodes[0]!.services.dht, 'acme/prod/brief', { trust })
    const wait = record.exp - Date.now() + 100
    if (wait > 0) await sleep(wait)
    await rejectsWithCode(resolveNameFromDht(nodes[2]!.services.dht, 'acme/prod/brief', { trust }), 'NOT_FOUND')
  })

  it('resolves through DhtNameResolver, caching until expiry, and refuses an untrusted organisation', async () => {
    const names = new DhtNameResolver({ dht: nodes[2]!.services.dht }, { trust })
    const { signed } = await agentRecord('acme/prod/search', { seq: 5 })
    const published = await new DhtNameResolver({ dht: nodes[0]!.services.dht }, { trust }).publish(signed)
    assert.ok(published.accepted >= 1)
    const first = await names.resolve('acme/prod/search')
    assert.equal(first.seq, 5)
    assert.equal(names.cached('acme/prod/search'), first)
    assert.equal(await names.resolve('acme/prod/search'), first)
    await rejectsWithCode(names.resolve('globex/prod/search'), 'FAILED_PRECONDITION')
  })
})

describe('the /agentmesh/ DHT validator and selector', () => {
  let acme: Ed25519Signer
  let trust: Record<string, string>

  before(() => {
    acme = generateSigner()
    trust = { acme: acme.did }
  })

  async function signed(name: string, seq: number, ttl = 300_000, key = generateSigner()): Promise<Uint8Array> {
    const right = await grantName({ issuer: acme, audience: key.did, name, expiration: nowSeconds() + 3600 })
    return encodeNameRecordValue(await signNameRecord({ signer: key, name, addrs: [], seq, ttl, proofs: [right] }))
  }

  it('accepts a valid record under its own key', async () => {
    nameRecordValidator(trust)(nameKey('acme/a'), await signed('acme/a', 1))
  })

  it('throws on garbage, non-canonical or oversize values (kad-dht then refuses them)', () => {
    const validate = nameRecordValidator(trust)
    const key = nameKey('acme/a')
    assert.throws(() => validate(key, new Uint8Array([1, 2, 3])), { code: 'INVALID_ARGUMENT' })
    assert.throws(() => validate(key, encodeCbor({ token: new Uint8Array(1), proofs: [], extra: 1 })), {
      code: 'INVALID_ARGUMENT'
    })
    assert.throws(() => validate(key, new Uint8Array(MAX_DHT_RECORD_BYTES + 1)), { code: 'INVALID_ARGUMENT' })
  })

  it("throws on a valid record of another name under this name's key", async () => {
    const value = await signed('acme/a', 1)
    assert.throws(() => nameRecordValidator(trust)(nameKey('acme/b'), value), { code: 'NOT_FOUND' })
  })

  it('throws on a record rooted in an untrusted authority', async () => {
    const value = await signed('acme/a', 1)
    assert.throws(() => nameRecordValidator({ acme: generateSigner().did })(nameKey('acme/a'), value), {
      code: 'PERMISSION_DENIED'
    })
  })

  it('picks the valid record with the highest seq', async () => {
    const key = generateSigner()
    const records = [await signed('acme/a', 1, 300_000, key), await signed('acme/a', 3, 300_000, key), await signed('acme/a', 2, 300_000, key)]
    assert.equal(nameRecordSelector(trust)(nameKey('acme/a'), records), 1)
  })

  it('never picks a forged or expired record, whatever its seq', async () => {
    const evil = generateSigner()
    const mallory = generateSigner()
    const right = await grantName({ issuer: evil, audience: mallory.did, name: 'acme/a', expiration: nowSeconds() + 3600 })
    const forged = encodeNameRecordValue(
      await signNameRecord({ signer: mallory, name: 'acme/a', addrs: [], seq: 1e9, ttl: 300_000, proofs: [right] })
    )
    const expired = await signed('acme/a', 1e9 + 1, -120_000)
    const good = await signed('acme/a', 1)
    const otherName = await signed('acme/b', 1e9 + 2)
    assert.equal(nameRecordSelector(trust)(nameKey('acme/a'), [forged, expired, otherName, good]), 3)
  })
})

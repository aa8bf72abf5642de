/**
 * Names benchmark (not a test): a cached resolve (NameResolver cache hit), a cold resolve through
 * one real relay (a new NameResolver each time, the connection to the relay kept, and once more
 * with a fresh connection each time), a DHT resolve among 5 kad-dht nodes on loopback TCP, and the
 * memory a relay directory spends per verified record. Prints a markdown table of medians and
 * writes bench/results/names.json.
 *
 *   node_modules/.bin/node bench/names.ts
 *
 * Environment: BENCH_NAMES_RECORDS (default 100000) records for the directory; BENCH_NAMES_BUDGET_S
 * (default 120) seconds allowed for signing them: when signing is slower, fewer are stored and the
 * memory per record is extrapolated (the output says so); BENCH_NAMES_COPY=1 stores copies of the
 * record bytes (signed tokens are views of the DAG-CBOR encoder's 64 KiB chunks, which a directory
 * otherwise keeps alive).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import v8 from 'node:v8'
import { runInNewContext } from 'node:vm'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { type Ed25519Signer, generateSigner, peerIdFromDid } from '../src/identity/index.ts'
import { agentmeshDht, publishNameRecord, resolveNameFromDht } from '../src/names/dht.ts'
import { DirectoryServer, grantName, NameResolver, type SignedNameRecord, signNameRecord } from '../src/names/index.ts'
import { createRelay } from '../src/relay.ts'
import { defaultCache } from '../src/ucan/index.ts'
import { median, quantile, round } from './lib/stats.ts'
import type { ComponentLogger } from '@libp2p/interface'
import type { KadDHT, SingleKadDHT } from '@libp2p/kad-dht'

const CACHED_REPS = 20_000
const COLD_REPS = 300
const DHT_NODES = 5
const DHT_REPS = 100
const RECORDS = Number(process.env.BENCH_NAMES_RECORDS ?? 100_000)
const SIGN_BUDGET_MS = Number(process.env.BENCH_NAMES_BUDGET_S ?? 120) * 1000
/** BENCH_NAMES_COPY=1: store copies of the token and proof bytes, not views of the encoder's 64 KiB chunks. */
const COPY_BYTES = process.env.BENCH_NAMES_COPY === '1'

v8.setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

interface Row {
  name: string
  reps: number
  medianUs: number
  p99Us: number
}

async function measure(name: string, reps: number, op: () => Promise<unknown>, warmup = Math.min(50, reps)): Promise<Row> {
  for (let i = 0; i < warmup; i++) await op()
  const samples: number[] = []
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint()
    await op()
    samples.push(Number(process.hrtime.bigint() - t0) / 1000)
  }
  return { name, reps, medianUs: round(median(samples)), p99Us: round(quantile(samples, 0.99)) }
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000)

async function agentRecord(authority: Ed25519Signer, name: string, key = generateSigner()): Promise<SignedNameRecord> {
  const right = await grantName({ issuer: authority, audience: key.did, name, expiration: nowSeconds() + 3600 })
  return await signNameRecord({ signer: key, name, addrs: ['/dns4/relay.example/tcp/443/wss/p2p-circuit'], ttl: 3_600_000, proofs: [right] })
}

async function relayResolves(authority: Ed25519Signer, trust: Record<string, string>): Promise<Row[]> {
  const relay = await createRelay({ trust, listen: ['/ip4/127.0.0.1/tcp/0'] })
  const key = generateSigner()
  const name = 'acme/bench/relay'
  relay.directory.store(await agentRecord(authority, name, key), peerIdFromDid(key.did).toString())
  const caller = await createLibp2p({
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() }
  })
  const relays = [relay.addrs[0]!]
  const dial = (addr: string) => caller.dial(multiaddr(addr))
  try {
    const warm = new NameResolver({ dial }, { relays, trust })
    await warm.resolve(name)
    const rows = [
      await measure('cached resolve (NameResolver cache hit)', CACHED_REPS, () => warm.resolve(name), 2_000),
      await measure('cold resolve via 1 relay (new resolver, open connection)', COLD_REPS, () =>
        new NameResolver({ dial }, { relays, trust }).resolve(name)
      ),
      await measure('cold resolve via 1 relay (new resolver, new connection)', COLD_REPS / 3, async () => {
        await caller.hangUp(relay.node.peerId)
        return await new NameResolver({ dial }, { relays, trust }).resolve(name)
      }, 10)
    ]
    return rows
  } finally {
    await caller.stop()
    await relay.stop()
  }
}

async function dhtResolves(authority: Ed25519Signer, trust: Record<string, string>): Promise<Row[]> {
  const nodes: Array<Libp2p<{ dht: KadDHT }>> = []
  try {
    for (let i = 0; i < DHT_NODES; i++) {
      nodes.push(
        (await createLibp2p({
          addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
          transports: [tcp()],
          connectionEncrypters: [noise()],
          streamMuxers: [yamux()],
          services: { identify: identify(), ping: ping(), dht: agentmeshDht({ trust, clientMode: false, addresses: 'all' }) }
        })) as unknown as Libp2p<{ dht: KadDHT }>
      )
    }
    for (let i = 0; i + 1 < DHT_NODES; i++) await nodes[i]!.dial(nodes[i + 1]!.getMultiaddrs())
    const deadline = Date.now() + 30_000
    const size = (n: Libp2p<{ dht: KadDHT }>) => (n.services.dht as SingleKadDHT).routingTable.size
    for (let round = 0; !nodes.every((n) => size(n) === DHT_NODES - 1); round++) {
      if (Date.now() > deadline) throw new Error('the DHT routing tables did not fill')
      // the DHT's own queries fill the tables; refresh the laggards now and then
      if (round % 30 === 29) for (const n of nodes) if (size(n) < DHT_NODES - 1) void n.services.dht.refreshRoutingTable()
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const name = 'acme/bench/dht'
    await publishNameRecord(nodes[0]!.services.dht, await agentRecord(authority, name))
    const resolver = nodes[DHT_NODES - 1]!
    return [
      await measure(`DHT resolve among ${DHT_NODES} nodes (verified, no cache)`, DHT_REPS, () =>
        resolveNameFromDht(resolver.services.dht, name, { trust })
      )
    ]
  } finally {
    await Promise.allSettled(nodes.map((n) => n.stop()))
  }
}

const silentLogger = {
  forComponent: () => Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false })
} as unknown as ComponentLogger

async function directoryMemory(authority: Ed25519Signer, trust: Record<string, string>) {
  const directory = new DirectoryServer(
    { registrar: { handle: async () => {}, unhandle: async () => {} }, logger: silentLogger },
    { trust }
  )
  gc()
  defaultCache.clear()
  gc()
  const before = process.memoryUsage()
  const t0 = performance.now()
  let stored = 0
  let extrapolated = false
  while (stored < RECORDS) {
    const key = generateSigner()
    const signed = await agentRecord(authority, `acme/dir/a${stored}`, key)
    const value = COPY_BYTES ? { token: signed.token.slice(), proofs: signed.proofs.map((p) => p.slice()) } : signed
    directory.store(value, peerIdFromDid(key.did).toString())
    stored++
    if (stored === 2_000) {
      const projected = ((performance.now() - t0) / stored) * RECORDS
      if (projected > SIGN_BUDGET_MS) extrapolated = true
    }
    if (extrapolated && performance.now() - t0 > SIGN_BUDGET_MS) break
  }
  const elapsedMs = performance.now() - t0
  defaultCache.clear() // the UCAN verification cache is bounded and shared: not the directory's memory
  gc()
  const after = process.memoryUsage()
  const heapPerRecord = (after.heapUsed - before.heapUsed) / stored
  const rssPerRecord = (after.rss - before.rss) / stored
  // token and proof bytes live in ArrayBuffers, outside heapUsed
  const buffersPerRecord = (after.arrayBuffers - before.arrayBuffers) / stored
  return {
    target: RECORDS,
    copiedBytes: COPY_BYTES,
    stored: directory.size,
    extrapolated,
    msPerRecordToSignAndStore: round(elapsedMs / stored),
    heapUsedBytesPerRecord: Math.round(heapPerRecord),
    arrayBufferBytesPerRecord: Math.round(buffersPerRecord),
    rssBytesPerRecord: Math.round(rssPerRecord),
    heapUsedMiBFor100k: round((heapPerRecord * 100_000) / 2 ** 20, 1),
    heapPlusBuffersMiBFor100k: round(((heapPerRecord + buffersPerRecord) * 100_000) / 2 ** 20, 1),
    rssMiBFor100k: round((rssPerRecord * 100_000) / 2 ** 20, 1)
  }
}

const authority = generateSigner()
const trust = { acme: authority.did }
const rows = [...(await relayResolves(authority, trust)), ...(await dhtResolves(authority, trust))]
const memory = await directoryMemory(authority, trust)

const lines = [
  '| operation | reps | median (µs) | p99 (µs) |',
  '| --- | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${r.name} | ${r.reps} | ${r.medianUs} | ${r.p99Us} |`),
  '',
  '| directory of verified records | value |',
  '| --- | ---: |',
  `| records stored | ${memory.stored}${memory.extrapolated ? ` (of ${memory.target}: figures extrapolated to 100k)` : ''} |`,
  `| heapUsed per record | ${memory.heapUsedBytesPerRecord} B |`,
  `| ArrayBuffers (token + proof bytes) per record | ${memory.arrayBufferBytesPerRecord} B |`,
  `| RSS per record | ${memory.rssBytesPerRecord} B |`,
  `| heapUsed for 100k records | ${memory.heapUsedMiBFor100k} MiB |`,
  `| heapUsed + ArrayBuffers for 100k records | ${memory.heapPlusBuffersMiBFor100k} MiB |`,
  `| RSS for 100k records | ${memory.rssMiBFor100k} MiB |`,
  `| sign (grant + record) and store, per record | ${memory.msPerRecordToSignAndStore} ms |`
]
process.stdout.write(`${lines.join('\n')}\n`)

mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
writeFileSync(
  new URL('./results/names.json', import.meta.url),
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      cpu: os.cpus()[0]?.model,
      cpus: os.cpus().length,
      rows,
      directory: memory
    },
    null,
    2
  )}\n`
)

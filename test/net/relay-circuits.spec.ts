import assert from 'node:assert/strict'
import type { Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import type { Libp2p } from 'libp2p'
import {
  createAgentNode,
  createRelayNode,
  encodeHopStatus,
  type RelayLimits
} from '../../src/net/index.ts'
import { waitFor } from '../fixtures/wait.ts'

const PROTOCOL = '/test/relayed/1'

interface Circuit {
  relay: Libp2p
  agent: Libp2p
  caller: Libp2p
  /** The agent's side of each stream the caller opens. */
  accepted: Stream[]
  open(): Promise<Stream>
  stop(): Promise<void>
}

/** A relay, an agent holding a reservation on it and a caller, all real libp2p nodes over loopback TCP. */
async function startCircuit(limits?: RelayLimits): Promise<Circuit> {
  const relay = await createRelayNode({
    listen: ['/ip4/127.0.0.1/tcp/0'],
    transports: [tcp()],
    denyReservation: async () => false,
    ...(limits === undefined ? {} : { limits })
  })
  const relayAddr = relay.getMultiaddrs()[0]!.toString()
  const agent = await createAgentNode({
    relays: [relayAddr],
    directUpgrade: false,
    libp2p: { transports: [tcp()] }
  })
  const caller = await createAgentNode({ relays: [], directUpgrade: false, libp2p: { transports: [tcp()] } })
  const accepted: Stream[] = []
  await agent.handle(PROTOCOL, (stream) => {
    accepted.push(stream)
  }, { runOnLimitedConnection: true })
  await waitFor('a circuit reservation', () => agent.getMultiaddrs().some((ma) => ma.toString().includes('/p2p-circuit')), 10_000)
  const target = `${relayAddr}/p2p-circuit/p2p/${agent.peerId.toString()}`
  const { multiaddr } = await import('@multiformats/multiaddr')
  return {
    relay,
    agent,
    caller,
    accepted,
    open: async () => {
      const before = accepted.length
      const stream = await caller.dialProtocol(multiaddr(target), PROTOCOL, { runOnLimitedConnection: true })
      await waitFor('the agent to accept the stream', () => accepted.length > before, 5_000)
      return stream
    },
    stop: async () => {
      await caller.stop()
      await agent.stop()
      await relay.stop()
    }
  }
}

/** Bytes the relay process holds in its streams' read and write buffers. */
function relayHeld(relay: Libp2p): number {
  let held = 0
  for (const connection of relay.getConnections()) {
    for (const stream of connection.streams) {
      const s = stream as unknown as { readBuffer?: { byteLength: number }; writeBuffer?: { byteLength: number } }
      held += (s.readBuffer?.byteLength ?? 0) + (s.writeBuffer?.byteLength ?? 0)
    }
  }
  return held
}

/** Everything a stream receives, and how it ends. */
function collect(stream: Stream): { bytes: () => number; chunks: Uint8Array[]; ended: Promise<Error | undefined> } {
  const chunks: Uint8Array[] = []
  let bytes = 0
  stream.addEventListener('message', (evt) => {
    const data = evt.data.subarray()
    chunks.push(data)
    bytes += data.byteLength
  })
  const ended = new Promise<Error | undefined>((resolve) => {
    stream.addEventListener('close', (evt) => resolve((evt as { error?: Error }).error), { once: true })
  })
  return { bytes: () => bytes, chunks, ended }
}

/** Send `total` bytes in 64 KiB chunks, waiting for drain when asked; stops early when `until` passes. */
async function flood(stream: Stream, total: number, until = Number.POSITIVE_INFINITY): Promise<number> {
  const chunk = new Uint8Array(64 * 1024).fill(7)
  let sent = 0
  while (sent < total && Date.now() < until) {
    const more = stream.send(chunk)
    sent += chunk.byteLength
    if (!more) {
      const drained = await Promise.race([
        new Promise<boolean>((resolve) => stream.addEventListener('drain', () => resolve(true), { once: true })),
        new Promise<boolean>((resolve) => stream.addEventListener('close', () => resolve(false), { once: true })),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), Math.max(0, until - Date.now())))
      ])
      if (!drained) break
    }
  }
  return sent
}

describe('relayed circuits are spliced stream to stream', function () {
  this.timeout(60_000)

  it('carries both directions through a real relay and passes each half-close on', async () => {
    const circuit = await startCircuit()
    try {
      const stream = await circuit.open()
      const far = circuit.accepted.at(-1)!
      // the agent echoes what it gets and closes its side once the caller closed its own
      far.addEventListener('message', (evt) => {
        far.send(evt.data)
      })
      far.addEventListener('remoteCloseWrite', () => {
        void far.close()
      })
      const got = collect(stream)
      const payload = Uint8Array.from({ length: 300_000 }, (_, i) => i % 251)
      for (let at = 0; at < payload.length; at += 10_000) stream.send(payload.subarray(at, at + 10_000))
      await stream.close()
      assert.equal(await got.ended, undefined, 'the stream closed cleanly on both sides')
      const echoed = Buffer.concat(got.chunks)
      assert.equal(echoed.byteLength, payload.byteLength)
      assert.ok(echoed.equals(payload), 'every byte came back in order')
    } finally {
      await circuit.stop()
    }
  })

  it('stops a caller that ignores end-to-end flow control while its agent does not read: the relay holds a bounded amount (threat: relay memory exhaustion)', async () => {
    const circuit = await startCircuit()
    try {
      await circuit.open()
      // the raw circuit under each end of the relayed connection (below noise and yamux)
      const raw = (node: Libp2p, peer: Libp2p): Stream =>
        (node.getConnections(peer.peerId)[0] as unknown as { maConn: Stream }).maConn
      const agentSide = raw(circuit.agent, circuit.caller)
      const callerSide = raw(circuit.caller, circuit.agent)
      // the agent stops reading its side of the circuit; the caller writes into the circuit at full
      // speed, bytes that no end-to-end window limits (the relay cannot tell: it sees ciphertext)
      agentSide.pause()
      const target = 64 * 1024 * 1024
      const sent = await flood(callerSide, target, Date.now() + 3_000)
      assert.ok(sent < 16 * 1024 * 1024, `flow control stopped the caller: it got ${sent} of ${target} bytes away`)
      const held = relayHeld(circuit.relay)
      assert.ok(held < 4 * 1024 * 1024, `the relay holds ${held} bytes of the circuit`)
    } finally {
      await circuit.stop()
    }
  })

  it('keeps a circuit open through a stall after a bulk transfer: a paused stream is never sent more than it may hold', async () => {
    // the agent's own streams have the same 4 MiB window (STREAM_WINDOW_BYTES): with yamux's default
    // (16 MiB) its paused end of the circuit would overflow its own read buffer, the agent's doing
    const circuit = await startCircuit()
    try {
      const stream = await circuit.open()
      const far = circuit.accepted.at(-1)!
      const got = collect(far)
      // a fast bulk transfer lets yamux grow the relay's stream windows to their largest
      const bulk = 48 * 1024 * 1024
      await flood(stream, bulk, Date.now() + 20_000)
      await waitFor('the bulk transfer', () => got.bytes() >= bulk, 20_000)
      const raw = (node: Libp2p, peer: Libp2p): Stream =>
        (node.getConnections(peer.peerId)[0] as unknown as { maConn: Stream }).maConn
      // then the agent stops reading its circuit while the caller keeps writing into it
      raw(circuit.agent, circuit.caller).pause()
      const callerSide = raw(circuit.caller, circuit.agent)
      await flood(callerSide, 64 * 1024 * 1024, Date.now() + 2_000)
      await new Promise((resolve) => setTimeout(resolve, 200))
      assert.equal(callerSide.status, 'open', 'the relay did not reset the circuit')
      const held = relayHeld(circuit.relay)
      assert.ok(held <= 9 * 1024 * 1024, `the relay holds ${held} bytes: at most a window per direction`)
    } finally {
      await circuit.stop()
    }
  })

  it('aborts the far side when one side resets its stream', async () => {
    const circuit = await startCircuit()
    try {
      const stream = await circuit.open()
      const far = collect(circuit.accepted.at(-1)!)
      stream.send(new Uint8Array(100))
      await waitFor('the first bytes', () => far.bytes() === 100, 5_000)
      stream.abort(new Error('caller gave up'))
      const error = await far.ended
      assert.ok(error instanceof Error, 'the agent side ended with an error, not a clean close')
    } finally {
      await circuit.stop()
    }
  })

  it('ends both sides of a circuit that carries more than the relay data limit (limits.dataBytes)', async () => {
    const circuit = await startCircuit({ dataBytes: 100_000n })
    try {
      const stream = await circuit.open()
      const near = collect(stream)
      const far = collect(circuit.accepted.at(-1)!)
      await flood(stream, 512 * 1024, Date.now() + 5_000)
      // the relay aborts its two circuit streams: the relayed connection under both ends goes, and its streams with it
      await Promise.all([near.ended, far.ended])
      assert.equal(circuit.caller.getConnections(circuit.agent.peerId).length, 0, 'the relayed connection is closed')
      assert.ok(far.bytes() <= 100_000, `the agent got ${far.bytes()} bytes, within the limit`)
    } finally {
      await circuit.stop()
    }
  })

  it("writes hop STATUS messages the library's own protobuf codec reads back", async () => {
    const pb = (await import(
      new URL('../../node_modules/@libp2p/circuit-relay-v2/dist/src/pb/index.js', import.meta.url).href
    )) as { HopMessage: { decode(bytes: Uint8Array): { type?: string; status?: string; limit?: { duration?: number; data?: bigint } } } }
    assert.deepEqual(pb.HopMessage.decode(encodeHopStatus(100)), { type: 'STATUS', status: 'OK' })
    assert.deepEqual(pb.HopMessage.decode(encodeHopStatus(204)), { type: 'STATUS', status: 'NO_RESERVATION' })
    const limited = pb.HopMessage.decode(encodeHopStatus(100, { duration: 120_000, data: 1n << 40n }))
    assert.deepEqual(limited, { type: 'STATUS', status: 'OK', limit: { duration: 120_000, data: 1n << 40n } })
    assert.deepEqual(pb.HopMessage.decode(encodeHopStatus(100, { data: 131_072n })).limit, { data: 131_072n })
  })
})

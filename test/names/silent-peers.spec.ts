import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from 'libp2p'
import { createRelay, type Relay } from '../../src/index.ts'
import { generateSigner } from '../../src/identity/index.ts'
import { ADMISSION_PROTOCOL, DIRECTORY_PROTOCOL, DIRECTORY_TIMEOUT_MS, MAX_DIRECTORY_STREAMS } from '../../src/names/index.ts'
import { createAgentNode } from '../../src/net/index.ts'
import { waitFor } from '../fixtures/wait.ts'

/** Threat: peers that open a directory or admission stream and never say a word, to hold it open. */
describe('a peer that opens streams and says nothing (real relay and agent over TCP)', function () {
  this.timeout(30_000)
  let relay: Relay
  let silent: Libp2p

  beforeEach(async () => {
    relay = await createRelay({ trust: { acme: generateSigner().did }, listen: ['/ip4/127.0.0.1/tcp/0'] })
    silent = await createAgentNode({ relays: [] })
  })
  afterEach(async () => {
    await Promise.allSettled([silent.stop(), relay.stop()])
  })

  it('does not keep the directory streams of a connection open: the relay drops them after DIRECTORY_TIMEOUT_MS', async () => {
    const conn = await silent.dial(multiaddr(relay.addrs[0]!))
    const streams = await Promise.all(
      Array.from({ length: MAX_DIRECTORY_STREAMS }, async () => conn.newStream(DIRECTORY_PROTOCOL, { runOnLimitedConnection: true }))
    )
    await waitFor('the relay to drop the silent streams', () => streams.every((s) => s.status !== 'open'), DIRECTORY_TIMEOUT_MS * 3)
    // the connection is usable again: a directory stream opens
    const next = await conn.newStream(DIRECTORY_PROTOCOL, { runOnLimitedConnection: true, signal: AbortSignal.timeout(3_000) })
    next.abort(new Error('done'))
  })

  it('is refused a reservation after DIRECTORY_TIMEOUT_MS when it takes the admission stream and never answers', async () => {
    const held: unknown[] = []
    await silent.handle(ADMISSION_PROTOCOL, (s) => void held.push(s), { runOnLimitedConnection: true })
    await silent.dial(multiaddr(relay.addrs[0]!))
    await waitFor('the relay to see the connection', () => relay.node.getConnections(silent.peerId).length > 0)
    const admitted = await Promise.race([
      relay.admission.admits(silent.peerId),
      new Promise<string>((resolve) => setTimeout(() => resolve('still pending'), DIRECTORY_TIMEOUT_MS * 3).unref())
    ])
    assert.equal(held.length, 1, 'the relay asked')
    assert.equal(admitted, false)
    assert.match(relay.admission.refusals.get(silent.peerId.toString()) ?? '', /in time/)
  })
})

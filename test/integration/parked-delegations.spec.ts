import assert from 'node:assert/strict'
import { pipe } from 'it-pipe'
import type { Connection } from '@libp2p/interface'
import type { Agent } from '../../src/index.ts'
import { type Ed25519Signer, generateSigner } from '../../src/identity/index.ts'
import { presented } from '../../src/policy/connection-state.ts'
import { MAX_PROOF_BYTES_PER_CONNECTION } from '../../src/policy/constants.ts'
import { decodeMessages, encodeMessage, RPC_PROTOCOL } from '../../src/rpc/index.ts'
import { delegate } from '../../src/ucan/index.ts'
import { type Mesh, nowSeconds, startMesh } from '../fixtures/mesh.ts'

/** Self-signed delegations of about 60 KiB each: decodable, but rooted in nobody the agent trusts. */
async function junkTokens(key: Ed25519Signer, tag: string, count: number): Promise<Uint8Array[]> {
  return await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const token = await delegate({
        issuer: key,
        audience: key.did,
        subject: key.did,
        command: '/',
        policy: [],
        meta: { pad: `${tag}-${i}-`.padEnd(60_000, 'a') },
        expiration: nowSeconds() + 3600
      })
      return token.bytes
    })
  )
}

/** Send one request with `auth` on a stream of its own and return the codes of the answers. */
async function rawCall(connection: Connection, auth: unknown): Promise<Array<{ type: string; code?: string; message?: string }>> {
  const stream = await connection.newStream(RPC_PROTOCOL, { runOnLimitedConnection: true })
  stream.send(encodeMessage({ v: 1, type: 'req', id: 1, cmd: '/echo', args: 'x', timeout: 5000, auth }))
  await stream.close()
  const answers: Array<{ type: string; code?: string; message?: string }> = []
  for await (const value of pipe(stream, decodeMessages())) answers.push(value as { type: string; code?: string })
  return answers
}

/** The delegations the agent keeps across all its connections: how many, and their bytes. */
function keptOn(agent: Agent): { tokens: number; bytes: number } {
  let tokens = 0
  let bytes = 0
  for (const connection of agent.node.getConnections()) {
    for (const delegation of presented.get(connection)?.values() ?? []) {
      tokens++
      // what the token holds on to: a token kept as a view of its frame would hold the whole frame
      bytes += delegation.bytes.buffer.byteLength
    }
  }
  return { tokens, bytes }
}

describe('delegations parked on an agent: only what validated, within a byte budget (real nodes through a relay)', function () {
  this.timeout(120_000)
  let mesh: Mesh
  const others: Agent[] = []

  before(async () => {
    mesh = await startMesh({ name: 'acme/prod/parking' })
    mesh.agent.handle('/echo', (args: unknown) => args)
  })

  after(async () => {
    await Promise.allSettled(others.map((o) => o.stop()))
    await mesh.stop()
  })

  it('keeps no delegation from callers whose every call is denied, however many tokens they present', async () => {
    const codes: string[] = []
    for (let s = 0; s < 2; s++) {
      const key = generateSigner()
      const stranger = await mesh.newCaller({ identity: key })
      others.push(stranger)
      await stranger.call('acme/prod/parking', '/echo', 'x').catch(() => {})
      const connection = stranger.node.getConnections(mesh.agent.node.peerId)[0]!
      for (let c = 0; c < 8; c++) {
        // the most one call may carry, 256 per connection in all: what the agent used to keep
        const dlg = await junkTokens(key, `${s}-${c}`, 32)
        for (const answer of await rawCall(connection, { prf: [], dlg })) codes.push(answer.code ?? answer.type)
      }
      // the stranger stays connected: what the agent kept for it would stay as long
    }
    assert.deepEqual([...new Set(codes)], ['PERMISSION_DENIED'])
    assert.equal(codes.length, 16)
    assert.deepEqual(keptOn(mesh.agent), { tokens: 0, bytes: 0 })
  })

  it('keeps at most its byte budget of delegations from a caller that holds authority', async () => {
    assert.equal(await mesh.caller.call('acme/prod/parking', '/echo', 'x'), 'x')
    const connection = mesh.caller.node.getConnections(mesh.agent.node.peerId)[0]!
    const answers: Array<string | undefined> = []
    for (let c = 0; c < 8; c++) {
      // a valid chain each time, with 15 more tokens of 60 KiB riding along (900 KiB a call)
      const dlg = [mesh.grant.bytes, ...(await junkTokens(mesh.callerKey, `ok-${c}`, 15))]
      for (const answer of await rawCall(connection, { prf: [mesh.grant.cid], dlg })) answers.push(answer.code ?? answer.type)
    }
    assert.equal(answers[0], 'res', 'the first call, within the budget, runs')
    assert.ok(answers.slice(1).every((a) => a === 'PERMISSION_DENIED'), `answers: ${answers.join(',')}`)
    const kept = keptOn(mesh.agent)
    assert.ok(kept.bytes <= MAX_PROOF_BYTES_PER_CONNECTION, `${kept.bytes} bytes of delegations kept for one connection`)
    // the chain sent once and referenced since still works
    assert.equal(await mesh.caller.call('acme/prod/parking', '/echo', 'still'), 'still')
  })
})

import assert from 'node:assert/strict'
import type { Stream } from '@libp2p/interface'
import { streamPair } from '@libp2p/utils'
import { type SpliceableStream, spliceStreams } from '../../src/net/index.ts'
import { waitFor } from '../fixtures/wait.ts'

// One layer only: the splice between two of @libp2p/utils' message streams (its in-memory muxer).
// The same splice over real relays, yamux and TCP: relay-circuits.spec.ts.

/** caller ⇄ [near | splice | far] ⇄ agent */
async function spliced(): Promise<{ caller: Stream; near: Stream; far: Stream; agent: Stream; joined: Promise<void> }> {
  const [caller, near] = await streamPair()
  const [far, agent] = await streamPair()
  const joined = spliceStreams(near as unknown as SpliceableStream, far as unknown as SpliceableStream)
  joined.catch(() => {})
  return { caller, near, far, agent, joined }
}

function received(stream: Stream): { data: number[]; events: string[] } {
  const data: number[] = []
  const events: string[] = []
  stream.addEventListener('message', (evt) => {
    data.push(...evt.data.subarray())
  })
  stream.addEventListener('remoteCloseWrite', () => events.push('remoteCloseWrite'))
  stream.addEventListener('close', (evt) => events.push((evt as { error?: Error }).error === undefined ? 'close' : 'error'))
  return { data, events }
}

/** Make `stream` report itself full for its next send, as a yamux stream does when its window is used up. */
function fullOnce(stream: Stream): () => void {
  const send = stream.send.bind(stream)
  let full = true
  stream.send = ((data: Parameters<Stream['send']>[0]) => {
    send(data)
    if (!full) return true
    full = false
    return false
  }) as Stream['send']
  return () => stream.dispatchEvent(new Event('drain'))
}

describe('spliceStreams: two message streams joined', () => {
  it('passes a half-close on only after the bytes that arrived before it, even when they waited for a drain', async () => {
    const { caller, near, far, agent } = await spliced()
    const got = received(agent)
    const drain = fullOnce(far)
    caller.send(Uint8Array.from([1, 2]))
    await waitFor('the first bytes to reach the agent', () => got.data.length === 2)
    // the far side reported itself full: the near side is paused, and what follows waits in it
    caller.send(Uint8Array.from([3, 4]))
    caller.send(Uint8Array.from([5]))
    await caller.close()
    await waitFor('the close to reach the paused side', () => near.remoteWriteStatus === 'closed')
    assert.deepEqual(got.data, [1, 2], 'nothing passed while paused')
    assert.equal(far.writeStatus, 'writable', 'the close waits behind the bytes')
    drain()
    await waitFor('the rest and the close', () => got.events.includes('remoteCloseWrite'))
    assert.deepEqual(got.data, [1, 2, 3, 4, 5])
    assert.ok(!got.events.includes('error'), 'no reset')
  })

  it('keeps the source paused at its transport when the destination is full again right after a drain (threat: a relay buffer that grows until the circuit is cut)', async () => {
    const { caller, near, far, agent } = await spliced()
    const got = received(agent)
    // what near tells its transport (yamux: stop or start granting the caller window)
    const transport: string[] = []
    const spy = near as unknown as { sendPause(): void; sendResume(): void }
    const sendPause = spy.sendPause.bind(near)
    const sendResume = spy.sendResume.bind(near)
    spy.sendPause = () => {
      transport.push('pause')
      sendPause()
    }
    spy.sendResume = () => {
      transport.push('resume')
      sendResume()
    }
    const drain = fullOnce(far)
    caller.send(Uint8Array.from([1]))
    await waitFor('the first byte to reach the agent', () => got.data.length === 1)
    caller.send(Uint8Array.from([2, 3]))
    await waitFor('the bytes to wait in the paused source', () => near.readBufferLength === 2)
    // the bytes that waited fill the destination again as soon as it drained
    const drainAgain = fullOnce(far)
    drain()
    assert.equal(near.readStatus, 'paused', 'the source is paused again')
    assert.equal(transport.at(-1), 'pause', `and so is its transport (${transport.join(', ')})`)
    drainAgain()
    caller.send(Uint8Array.from([4]))
    await waitFor('everything, in order', () => got.data.length === 4)
    assert.deepEqual(got.data, [1, 2, 3, 4])
    assert.equal(transport.at(-1), 'resume')
  })

  it('closes both ends cleanly when both sides close their writing ends, and resolves', async () => {
    const { caller, agent, joined } = await spliced()
    const atAgent = received(agent)
    const atCaller = received(caller)
    agent.addEventListener('message', (evt) => {
      agent.send(evt.data)
    })
    agent.addEventListener('remoteCloseWrite', () => {
      void agent.close()
    })
    caller.send(Uint8Array.from([9, 8, 7]))
    await caller.close()
    await joined
    await waitFor('the echo and the close at the caller', () => atCaller.events.includes('close'))
    assert.deepEqual(atAgent.data, [9, 8, 7])
    assert.deepEqual(atCaller.data, [9, 8, 7])
  })

  it('aborts a side that waits to drain into a stream that closed (no circuit left half open)', async () => {
    const { near, far, agent, joined } = await spliced()
    fullOnce(near)
    // the agent's answer fills the near side: the far side pauses with more behind it
    agent.send(Uint8Array.from([1]))
    agent.send(Uint8Array.from([2]))
    const internals = (stream: Stream): { readBuffer: { byteLength: number }; onTransportClosed(): void } =>
      stream as unknown as { readBuffer: { byteLength: number }; onTransportClosed(): void }
    await waitFor('the far side to hold the second answer', () => internals(far).readBuffer.byteLength > 0)
    // the caller's side goes away cleanly (its transport closed without an error), without ever draining
    internals(near).onTransportClosed()
    await assert.rejects(joined, (err: Error) => err.message.includes('closed'))
    await waitFor('the far side to be aborted', () => far.status === 'aborted')
  })

  it('passes a reset on as a reset, never as a clean end (threat: a cut-off transfer that looks complete)', async () => {
    for (const how of ['remote reset', 'local abort'] as const) {
      const { caller, far, agent, joined } = await spliced()
      const atCaller = received(caller)
      agent.send(Uint8Array.from([1, 2, 3]))
      await waitFor('the first bytes to reach the caller', () => atCaller.data.length === 3)
      // the agent's side of the circuit fails mid-transfer: its remote resets it, or the relay aborts it
      if (how === 'remote reset') agent.abort(new Error('agent gone'))
      else far.abort(new Error('relay gave up'))
      await assert.rejects(joined)
      await waitFor(`the caller to see the ${how} as an error`, () => atCaller.events.includes('error'))
      assert.ok(!atCaller.events.includes('remoteCloseWrite'), `${how}: no half-close reached the caller before the reset`)
    }
  })

  it('passes a side whose transport closed under it on as a reset (threat: an agent that went away looks done)', async () => {
    const { caller, far, agent, joined } = await spliced()
    const atCaller = received(caller)
    agent.send(Uint8Array.from([1, 2, 3]))
    await waitFor('the first bytes to reach the caller', () => atCaller.data.length === 3)
    // the agent's connection to the relay ends without the agent closing its stream (its process was
    // killed, its socket closed): the muxer closes the stream with no error
    ;(far as unknown as { onTransportClosed(): void }).onTransportClosed()
    await assert.rejects(joined, /without ending its stream/)
    await waitFor('the caller to see an error', () => atCaller.events.includes('error'))
    assert.ok(!atCaller.events.includes('remoteCloseWrite'), 'no half-close reached the caller')
  })

  it('passes on a half-close that arrived before the splice began, and ends cleanly', async () => {
    const [caller, near] = await streamPair()
    const [far, agent] = await streamPair()
    const atAgent = received(agent)
    const atCaller = received(caller)
    await caller.close()
    await waitFor('the half-close to reach the relay', () => near.remoteWriteStatus === 'closed')
    const joined = spliceStreams(near as unknown as SpliceableStream, far as unknown as SpliceableStream)
    await waitFor('the half-close at the agent', () => atAgent.events.includes('remoteCloseWrite'))
    await agent.close()
    await joined
    await waitFor('the close at the caller', () => atCaller.events.includes('close'))
    assert.ok(!atCaller.events.includes('error') && !atAgent.events.includes('error'), 'no reset')
  })

  it('ends at once when a side ended before the splice began', async () => {
    const [caller, near] = await streamPair()
    const [far] = await streamPair()
    caller.abort(new Error('gone'))
    await waitFor('the reset to arrive', () => near.status !== 'open')
    await assert.rejects(spliceStreams(near as unknown as SpliceableStream, far as unknown as SpliceableStream))
    assert.equal(far.status, 'aborted')
  })

  it('aborts both sides when an abort signal fires', async () => {
    const [caller, near] = await streamPair()
    const [far, agent] = await streamPair()
    const controller = new AbortController()
    const joined = spliceStreams(near as unknown as SpliceableStream, far as unknown as SpliceableStream, { signals: [controller.signal] })
    const atCaller = received(caller)
    const atAgent = received(agent)
    controller.abort(new Error('relay stopping'))
    await assert.rejects(joined, /relay stopping/)
    await waitFor('both ends to see the reset', () => atCaller.events.includes('error') && atAgent.events.includes('error'))
  })
})

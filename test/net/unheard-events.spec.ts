import assert from 'node:assert/strict'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import type { Stream } from '@libp2p/interface'
import { createLibp2p, type Libp2p } from 'libp2p'
import { skipUnheardStreamEvents } from '../../src/net/index.ts'

const ECHO = '/test/echo/1'

describe('stream events nobody listens to are skipped (real libp2p nodes over TCP)', () => {
  const nodes: Libp2p[] = []
  let stream: Stream

  beforeEach(async () => {
    assert.equal(skipUnheardStreamEvents(), true, 'the message stream class has the expected shape')
    const start = async (listen: string[]): Promise<Libp2p> =>
      await createLibp2p({ addresses: { listen }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
    const listener = await start(['/ip4/127.0.0.1/tcp/0'])
    const dialer = await start([])
    nodes.push(listener, dialer)
    await listener.handle(ECHO, (s) => {
      s.addEventListener('message', (evt) => s.send(evt.data))
      s.addEventListener('remoteCloseWrite', () => void s.close())
    })
    stream = await (await dialer.dial(listener.getMultiaddrs())).newStream(ECHO)
  })
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
  })

  it('builds no idle event for a write nobody waits on, and still tells a listener', async () => {
    let built = 0
    const dispatch = stream.dispatchEvent.bind(stream)
    stream.dispatchEvent = (event: Event) => {
      if (event.type === 'idle') built++
      return dispatch(event)
    }
    stream.send(Uint8Array.of(1, 2, 3))
    assert.equal(built, 0, 'no idle event without a listener')
    let heard = 0
    const onIdle = (): void => {
      heard++
    }
    stream.addEventListener('idle', onIdle)
    stream.send(Uint8Array.of(4))
    assert.equal(heard, 1, 'a listener hears its idle event')
    stream.removeEventListener('idle', onIdle)
    stream.send(Uint8Array.of(5))
    assert.equal(heard, 1, 'a removed listener is not called again')
  })

  it('still closes streams that wait for their writes to drain (close waits on idle)', async () => {
    const echoed: number[] = []
    stream.addEventListener('message', (evt) => echoed.push(...evt.data.subarray()))
    const closed = new Promise((resolve) => stream.addEventListener('close', resolve, { once: true }))
    for (let i = 0; i < 100; i++) stream.send(new Uint8Array(1000).fill(i))
    await stream.close({ signal: AbortSignal.timeout(5_000) })
    assert.equal(stream.writeStatus, 'closed', 'close() returned once everything written had been sent')
    await closed // the echo side closes in turn, after sending everything back
    assert.equal(stream.status, 'closed')
    assert.equal(echoed.length, 100_000)
    assert.equal(echoed.at(-1), 99)
  })
})

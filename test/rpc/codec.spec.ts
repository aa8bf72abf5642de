import assert from 'node:assert/strict'
import { pipe } from 'it-pipe'
import { decodeMessages, encodeMessage } from '../../src/rpc/codec.ts'
import { parseFrame } from '../../src/rpc/frames.ts'

async function collect(chunks: Uint8Array[], maxBytes?: number): Promise<unknown[]> {
  const out: unknown[] = []
  const source = (async function* () {
    yield* chunks
  })()
  for await (const v of pipe(source, decodeMessages(maxBytes === undefined ? {} : { maxBytes }))) out.push(v)
  return out
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}

describe('rpc codec: length-prefixed DAG-CBOR messages', () => {
  it('round-trips several messages sent in one chunk', async () => {
    const values = [{ a: 1 }, 'two', [3, null], new Uint8Array([4])]
    assert.deepEqual(await collect([concat(values.map(encodeMessage))]), values)
  })

  it('reassembles a message split byte by byte', async () => {
    const bytes = encodeMessage({ hello: 'world', n: 300, nested: { list: [1, 2, 3] } })
    const chunks = Array.from(bytes, (b) => Uint8Array.of(b))
    assert.deepEqual(await collect(chunks), [{ hello: 'world', n: 300, nested: { list: [1, 2, 3] } }])
  })

  it('refuses a length over the limit with RESOURCE_EXHAUSTED before reading the body', async () => {
    const huge = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f) // a 4 GiB length and no body
    await assert.rejects(collect([huge], 1024), { code: 'RESOURCE_EXHAUSTED' })
  })

  it('refuses a prefix longer than five bytes with INVALID_ARGUMENT', async () => {
    await assert.rejects(collect([Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x01)]), {
      code: 'INVALID_ARGUMENT'
    })
  })

  it('refuses a body that is not DAG-CBOR with INVALID_ARGUMENT', async () => {
    await assert.rejects(collect([Uint8Array.of(3, 0xff, 0xfe, 0xfd)]), { code: 'INVALID_ARGUMENT' })
  })

  it('refuses a stream that ends inside a message with INVALID_ARGUMENT', async () => {
    const bytes = encodeMessage({ truncated: true })
    await assert.rejects(collect([bytes.subarray(0, bytes.length - 2)]), { code: 'INVALID_ARGUMENT' })
  })

  it('refuses to encode a value DAG-CBOR cannot carry (undefined) with INVALID_ARGUMENT', () => {
    assert.throws(() => encodeMessage({ a: undefined }), { code: 'INVALID_ARGUMENT' })
  })
})

describe('rpc frames: shape checks', () => {
  it('accepts a well-formed request', () => {
    const frame = parseFrame({ v: 1, type: 'req', id: 7, cmd: '/x', args: null, timeout: 100 })
    assert.equal(frame.type, 'req')
  })

  for (const [what, value, code] of [
    ['a non-map', [1, 2], 'INVALID_ARGUMENT'],
    ['another version', { v: 2, type: 'req', id: 1 }, 'UNIMPLEMENTED'],
    ['a negative id', { v: 1, type: 'req', id: -1, cmd: '/x', args: 1, timeout: 1 }, 'INVALID_ARGUMENT'],
    ['an empty command', { v: 1, type: 'req', id: 1, cmd: '', args: 1, timeout: 1 }, 'INVALID_ARGUMENT'],
    ['a missing timeout', { v: 1, type: 'req', id: 1, cmd: '/x', args: 1 }, 'INVALID_ARGUMENT'],
    ['an unknown type', { v: 1, type: 'hack', id: 1 }, 'INVALID_ARGUMENT']
  ] as const) {
    it(`refuses ${what} with ${code}`, () => {
      assert.throws(() => parseFrame(value), { code })
    })
  }

  it('reads an unknown error code from a peer as UNKNOWN', () => {
    const frame = parseFrame({ v: 1, type: 'err', id: 1, code: 'TOTALLY_NEW', message: 'x' })
    assert.equal(frame.type === 'err' && frame.code, 'UNKNOWN')
  })
})

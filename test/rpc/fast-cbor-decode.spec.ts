import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { describe, it } from 'mocha'
import { CID } from 'multiformats/cid'
import { MessageDecoder, NEED_MORE } from '../../src/rpc/codec.ts'
import { decodeFast, NOT_FAST } from '../../src/rpc/fast-cbor-decode.ts'
import { cid, ipldValue } from './ipld-values.ts'

/** What @ipld/dag-cbor makes of `bytes`: the value, or the fact that it throws. */
function reference(bytes: Uint8Array): { value: unknown } | 'throws' {
  try {
    return { value: dagCbor.decode(bytes) }
  } catch {
    return 'throws'
  }
}

/** The fast decoder never accepts what dag-cbor refuses, and never decodes to anything else. */
function agrees(bytes: Uint8Array): boolean {
  const got = decodeFast(bytes)
  if (got === NOT_FAST) return false
  const expected = reference(bytes)
  assert.notEqual(expected, 'throws', `the fast path accepted bytes dag-cbor refuses: ${Buffer.from(bytes).toString('hex')}`)
  assert.deepEqual(got, (expected as { value: unknown }).value)
  return true
}

const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s/g, ''), 'hex'))

describe('rpc fast DAG-CBOR decoder: the values of @ipld/dag-cbor, or none', () => {
  it('decodes every encoded value as @ipld/dag-cbor does (property)', () => {
    let fast = 0
    let runs = 0
    fc.assert(
      fc.property(ipldValue, (v) => {
        let bytes: Uint8Array
        try {
          bytes = dagCbor.encode(v)
        } catch {
          return // not a value DAG-CBOR carries
        }
        runs++
        if (agrees(bytes)) fast++
      }),
      { numRuns: 3000 }
    )
    // big integers, floats that are not doubles and deep nesting go to dag-cbor; most values must not
    assert.ok(fast > runs / 2, `only ${fast} of ${runs} values took the fast path`)
  })

  it('refuses what dag-cbor refuses in corrupted, truncated and random bytes (threat: malformed frames)', () => {
    const corrupt = fc
      .tuple(ipldValue, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat())
      .map(([v, flips, cut]) => {
        let bytes: Uint8Array
        try {
          bytes = dagCbor.encode(v)
        } catch {
          bytes = Uint8Array.of(0xa1, 0x61, 0x61, 0x01)
        }
        const out = bytes.slice(0, Math.max(1, bytes.byteLength - (cut % 3)))
        for (const [at, byte] of flips) out[at % out.byteLength] = byte
        return out
      })
    fc.assert(fc.property(fc.oneof(corrupt, fc.uint8Array({ minLength: 1, maxLength: 64 })), (bytes) => void agrees(bytes)), {
      numRuns: 5000
    })
  })

  it('leaves non-canonical but readable maps and numbers to dag-cbor, which reads them', () => {
    const cases = {
      'keys out of order': hex('a2 6162 01 6161 02'), // {"ab": 1, "a": 2}: dag-cbor accepts, sorted or not
      'half float': hex('f9 3c00'), // 1.0 as a half float
      'single float': hex('fa 3fc00000'), // 1.5 as a single float
      'integer over 2^53': hex('1b 0020000000000000'),
      '__proto__ key': hex('a1 69 5f5f70726f746f5f5f 01')
    }
    for (const [name, bytes] of Object.entries(cases)) {
      assert.equal(decodeFast(bytes), NOT_FAST, name)
      assert.notEqual(reference(bytes), 'throws', name)
    }
    const proto = dagCbor.decode(cases['__proto__ key']) as Record<string, unknown>
    assert.ok(Object.hasOwn(proto, '__proto__'), '__proto__ stays an own property, never the prototype')
  })

  it('never accepts what strict DAG-CBOR refuses: long-form integers, repeated keys, other tags, trailing bytes', () => {
    const cases = {
      'integer in more bytes than needed': hex('18 17'),
      'length in more bytes than needed': hex('78 01 61'),
      'repeated key': hex('a2 6161 01 6161 02'),
      'tag other than 42': hex('c1 01'),
      'tag 42 in a long form': Uint8Array.from([0xd9, 0x00, 0x2a, 0x58, cid.bytes.byteLength + 1, 0, ...cid.bytes]),
      'CID without its 0x00 prefix': hex('d8 2a 42 0171'),
      'indefinite-length array': hex('9f 01 ff'),
      'trailing bytes': hex('01 02'),
      'NaN': hex('fb 7ff8000000000000'),
      'truncated string': hex('63 6161')
    }
    for (const [name, bytes] of Object.entries(cases)) {
      assert.equal(decodeFast(bytes), NOT_FAST, name)
      assert.equal(reference(bytes), 'throws', name)
    }
  })

  it('reads undefined as null, as dag-cbor does', () => {
    assert.equal(decodeFast(hex('f7')), null)
    assert.deepEqual(reference(hex('f7')), { value: null })
  })

  it('hands out equal CIDs for a chain reference sent call after call', () => {
    const frame = dagCbor.encode({ v: 1, type: 'req', id: 1, cmd: '/x', args: null, timeout: 1, auth: { prf: [cid] } })
    const a = decodeFast(frame) as { auth: { prf: CID[] } }
    const b = decodeFast(frame) as { auth: { prf: CID[] } }
    assert.ok(a.auth.prf[0]!.equals(cid))
    assert.ok(b.auth.prf[0]!.equals(cid))
    const other = CID.parse('bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')
    assert.ok((decodeFast(dagCbor.encode([other])) as CID[])[0]!.equals(other))
  })

  it('reports a frame refused by both decoders as INVALID_ARGUMENT through the message decoder', () => {
    const decoder = new MessageDecoder(1024)
    decoder.push(Uint8Array.of(7, 0xa2, 0x61, 0x61, 0x01, 0x61)) // a map with a repeated key, in two chunks
    assert.equal(decoder.next(), NEED_MORE)
    decoder.push(Uint8Array.of(0x61, 0x02))
    assert.throws(() => decoder.next(), { code: 'INVALID_ARGUMENT' })
  })
})

// Values for the property tests of the DAG-CBOR codecs: the IPLD data model, plus what dag-cbor
// refuses or the fast paths leave to it.
import fc from 'fast-check'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { MAX_FAST_BYTES } from '../../src/rpc/fast-cbor.ts'

export const cid = CID.createV1(0x71, await sha256.digest(new Uint8Array([1, 2, 3])))

/** IPLD data model values, plus what dag-cbor refuses or the fast path leaves to it. */
export const ipldValue = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double(),
    fc.constantFrom(-0, 2 ** 53, -(2 ** 60), 1e300, Number.MIN_VALUE, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32),
    fc.string(),
    fc.string({ unit: 'grapheme' }),
    fc.string({ unit: 'binary' }),
    fc.string({ minLength: 20, maxLength: 300 }),
    fc.uint8Array({ maxLength: 64 }),
    fc.uint8Array({ minLength: MAX_FAST_BYTES - 2, maxLength: MAX_FAST_BYTES + 2 }),
    fc.constant(cid),
    fc.constantFrom(undefined, Number.NaN, Number.POSITIVE_INFINITY, 10n, new Map([['a', 1]]), new Int8Array(2)),
    fc.constantFrom({ '/': cid.bytes, bytes: cid.bytes }, Object.create(null) as object, new Date(0))
  ),
  node: fc.oneof(
    { depthSize: 'small' },
    tie('leaf'),
    fc.array(tie('node'), { maxLength: 5 }),
    fc.dictionary(fc.oneof(fc.string(), fc.string({ unit: 'binary' })), tie('node'), { maxKeys: 6 }),
    fc.dictionary(fc.string({ maxLength: 3 }), tie('leaf'), { minKeys: 17, maxKeys: 24 })
  )
})).node


import assert from 'node:assert/strict'
import { gzipSync } from 'node:zlib'
import * as dagCbor from '@ipld/dag-cbor'
import { describe, it } from 'mocha'
import { generateSigner } from '../../src/identity/index.ts'
import {
  type ContainerFormat,
  decode,
  decodeContainer,
  delegate,
  encodeContainer,
  invoke,
  UcanError,
  validate
} from '../../src/ucan/index.ts'
import { NOW } from './helpers.ts'

describe('ucan container ctn-v1', () => {
  it('round-trips tokens in all six formats and validates from the container alone', async () => {
    const a = generateSigner()
    const b = generateSigner()
    const dlg = await delegate({
      issuer: a,
      audience: b.did,
      subject: a.did,
      command: '/msg',
      expiration: null
    })
    const inv = await invoke({
      issuer: b,
      subject: a.did,
      command: '/msg/send',
      proofs: [dlg],
      expiration: null
    })
    const tokens = [inv.bytes, dlg.bytes]
    const formats: ContainerFormat[] = [
      'raw',
      'base64',
      'base64url',
      'raw-gzip',
      'base64-gzip',
      'base64url-gzip'
    ]
    const headers = ['@', 'B', 'C', 'M', 'O', 'P']
    for (const [i, format] of formats.entries()) {
      const encoded = encodeContainer(tokens, format as 'raw')
      const first = typeof encoded === 'string' ? encoded[0] : String.fromCharCode(encoded[0]!)
      assert.equal(first, headers[i])
      const back = decodeContainer(encoded)
      assert.deepEqual(back, tokens)
    }
    const [invBytes, ...proofs] = decodeContainer(encodeContainer(tokens, 'base64url'))
    await validate(invBytes!, { proofs, now: NOW })
    assert.equal(decode(proofs[0]!).type, 'delegation')
  })

  it('reads the CBOR shape { "ctn-v1": [bytes…] } written by others', () => {
    const body = dagCbor.encode({ 'ctn-v1': [new Uint8Array([1, 2, 3])] })
    const std = 'B' + Buffer.from(body).toString('base64')
    assert.deepEqual(decodeContainer(std), [new Uint8Array([1, 2, 3])])
    const gz = new Uint8Array([0x4d, ...gzipSync(body)])
    assert.deepEqual(decodeContainer(gz), [new Uint8Array([1, 2, 3])])
  })

  it('refuses unknown headers, bad base64, bad shapes and gzip bombs with MalformedToken', () => {
    const isMalformed = (e: unknown) => UcanError.is(e, 'MalformedToken')
    assert.throws(() => decodeContainer('Zabc'), isMalformed)
    assert.throws(() => decodeContainer(''), isMalformed)
    assert.throws(() => decodeContainer('C!!!'), isMalformed)
    assert.throws(() => decodeContainer('@raw-as-text'), isMalformed)
    assert.throws(
      () => decodeContainer('B' + Buffer.from(dagCbor.encode({ x: [] })).toString('base64')),
      isMalformed
    )
    assert.throws(
      () => decodeContainer('B' + Buffer.from(dagCbor.encode({ 'ctn-v1': [1] })).toString('base64')),
      isMalformed
    )
    const bomb = new Uint8Array([0x4d, ...gzipSync(new Uint8Array(20 * 1024 * 1024))])
    assert.throws(() => decodeContainer(bomb), isMalformed)
  })
})

import { gunzipSync, gzipSync } from 'node:zlib'
import * as dagCbor from '@ipld/dag-cbor'
import { isMap } from './cbor.ts'
import { MAX_CONTAINER_BYTES } from './constants.ts'
import { UcanError } from './errors.ts'

/**
 * The UCAN container (`ctn-v1`): several tokens' bytes in a CBOR map `{ "ctn-v1": [bytes…] }`,
 * optionally gzipped, optionally base64-encoded, behind a one-byte header saying which.
 */

/** How a container is serialised. */
export type ContainerFormat = 'raw' | 'base64' | 'base64url' | 'raw-gzip' | 'base64-gzip' | 'base64url-gzip'

const HEADERS: Record<ContainerFormat, number> = {
  raw: 0x40,
  base64: 0x42,
  base64url: 0x43,
  'raw-gzip': 0x4d,
  'base64-gzip': 0x4f,
  'base64url-gzip': 0x50
}

const FORMATS = new Map<number, ContainerFormat>(
  Object.entries(HEADERS).map(([format, header]) => [header, format as ContainerFormat])
)

const KEY = 'ctn-v1'

/**
 * Bundle tokens into a container. Text formats return a string; raw formats return bytes.
 *
 * @example
 * ```ts
 * const header = encodeContainer([inv.bytes, root.bytes, child.bytes], 'base64url') // 'C…'
 * const tokens = decodeContainer(header)                                            // Uint8Array[]
 * ```
 */
export function encodeContainer(tokens: readonly Uint8Array[], format: 'raw' | 'raw-gzip'): Uint8Array
export function encodeContainer(
  tokens: readonly Uint8Array[],
  format?: 'base64' | 'base64url' | 'base64-gzip' | 'base64url-gzip'
): string
export function encodeContainer(
  tokens: readonly Uint8Array[],
  format: ContainerFormat = 'base64url'
): Uint8Array | string {
  let body: Uint8Array = dagCbor.encode({ [KEY]: [...tokens] })
  if (format.endsWith('-gzip')) body = new Uint8Array(gzipSync(body))
  const header = HEADERS[format]
  if (format.startsWith('raw')) {
    const out = new Uint8Array(body.length + 1)
    out[0] = header
    out.set(body, 1)
    return out
  }
  const text = Buffer.from(body).toString(format.startsWith('base64url') ? 'base64url' : 'base64')
  return String.fromCharCode(header) + text
}

function malformed(why: string, cause?: unknown): never {
  throw new UcanError('MalformedToken', `invalid container: ${why}`, cause === undefined ? {} : { cause })
}

/**
 * Read a container (bytes or text, any of the six headers) into its tokens' bytes. Throws
 * `MalformedToken` on anything else, and refuses to inflate past {@link MAX_CONTAINER_BYTES}.
 *
 * @example
 * ```ts
 * const cids = decodeContainer(header).map((bytes) => decode(bytes).cid.toString())
 * ```
 */
export function decodeContainer(
  input: Uint8Array | string,
  maxBytes: number = MAX_CONTAINER_BYTES
): Uint8Array[] {
  if (input.length === 0) malformed('empty')
  if (input.length > maxBytes * 2) malformed('too large')
  const header = typeof input === 'string' ? input.charCodeAt(0) : input[0]!
  const format = FORMATS.get(header)
  if (format === undefined) malformed(`unknown header 0x${header.toString(16)}`)
  let body: Uint8Array
  if (format.startsWith('raw')) {
    if (typeof input === 'string') malformed('a raw container must be bytes')
    body = input.subarray(1)
  } else {
    const text =
      typeof input === 'string' ? input.slice(1) : Buffer.from(input.subarray(1)).toString('latin1')
    const alphabet = format.startsWith('base64url') ? /^[A-Za-z0-9_-]*$/ : /^[A-Za-z0-9+/]*={0,2}$/
    if (!alphabet.test(text)) malformed('bad base64')
    body = new Uint8Array(Buffer.from(text, format.startsWith('base64url') ? 'base64url' : 'base64'))
  }
  if (format.endsWith('-gzip')) {
    try {
      body = new Uint8Array(gunzipSync(body, { maxOutputLength: maxBytes }))
    } catch (err) {
      malformed('bad gzip or too large', err)
    }
  }
  let value: unknown
  try {
    value = dagCbor.decode(body)
  } catch (err) {
    malformed('bad CBOR', err)
  }
  if (!isMap(value) || !Object.hasOwn(value, KEY) || !Array.isArray(value[KEY])) malformed(`no ${KEY} list`)
  const tokens = value[KEY] as unknown[]
  for (const t of tokens) if (!(t instanceof Uint8Array)) malformed('tokens must be bytes')
  return tokens as Uint8Array[]
}

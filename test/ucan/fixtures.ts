import { readFileSync } from 'node:fs'

/** The UCAN 1.0.0 fixtures from the spec repository, shared read-only at /work/shared. */
export const SPEC_VECTORS = new URL('../../../shared/vectors/ucan-1.0.0/', import.meta.url)

/** Our own vectors, committed with the tests. */
export const OWN_VECTORS = new URL('../vectors/', import.meta.url)

export function readJson<T = unknown>(base: URL, name: string): T {
  return JSON.parse(readFileSync(new URL(name, base), 'utf8')) as T
}

/** DAG-JSON bytes `{ "/": { "bytes": "…" } }` → Uint8Array. */
export function dagJsonBytes(value: { '/': { bytes: string } }): Uint8Array {
  return new Uint8Array(Buffer.from(value['/'].bytes, 'base64'))
}

export function b64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'))
}

import { equalBytes } from './cbor.ts'

/**
 * Varsig headers for Ed25519 signatures over DAG-CBOR payloads, the only kind this library signs.
 *
 * The v1 header is `0x34` (varsig), `0x01` (version 1), `0xed01` (EdDSA), `0xed01` (curve
 * ed25519), `0x13` (sha2-512, fixed by Ed25519), `0x71` (payload encoding DAG-CBOR).
 */

/** The header written into every envelope's `h` (base64 `NAHtAe0BE3E`). */
export const ED25519_DAG_CBOR_VARSIG: Readonly<Uint8Array> = Uint8Array.of(
  0x34,
  0x01,
  0xed,
  0x01,
  0xed,
  0x01,
  0x13,
  0x71
)

/** The shorter pre-v1 header some 1.0 implementations wrote (`0x34`, `0xed01`, `0x71`); read only. */
export const ED25519_DAG_CBOR_VARSIG_LEGACY: Readonly<Uint8Array> = Uint8Array.of(0x34, 0xed, 0x01, 0x71)

/** True when `header` says "Ed25519 over DAG-CBOR". */
export function isEd25519DagCborVarsig(header: unknown): boolean {
  if (!(header instanceof Uint8Array)) return false
  return equalBytes(header, ED25519_DAG_CBOR_VARSIG) || equalBytes(header, ED25519_DAG_CBOR_VARSIG_LEGACY)
}

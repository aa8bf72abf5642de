import { createHash } from 'node:crypto'
import { createWriteStream, type WriteStream } from 'node:fs'
import * as dagCbor from '@ipld/dag-cbor'

/** One authorization decision, as the audit trail records it. */
export interface AuditEvent {
  /** When, as an ISO 8601 timestamp. */
  time: string
  /** `request`: the call itself; `action`: a derived action checked with `ctx.authorize`. */
  phase: 'request' | 'action'
  /** The caller's PeerId and did. */
  caller: { peer: string; did: string }
  /** The intent of the call. */
  intent: string
  /** The command checked (the intent itself for `request`, the derived command for `action`). */
  cmd: string
  /** `sha256:` hex digest of the DAG-CBOR arguments: identifies them without copying secrets. */
  argsDigest: string
  allowed: boolean
  /** Why it was refused (the UCAN reason and message), when it was. */
  reason?: string
  /** The CIDs of the caller's delegation chain, root first. */
  chain: string[]
  /** The root authority the chain is rooted in, when known. */
  authority?: string
}

/** Where audit events go: a function, so that any logger, queue or SIEM can be plugged in. */
export type AuditSink = (event: AuditEvent) => void

/** The `sha256:` digest of `args` encoded as DAG-CBOR (or of their JSON form when not encodable). */
export function argsDigest(args: unknown): string {
  let bytes: Uint8Array
  try {
    bytes = dagCbor.encode(args)
  } catch {
    bytes = new TextEncoder().encode(JSON.stringify(args) ?? 'undefined')
  }
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}

/** A file sink: each event appended as one JSON line. */
export interface JsonLinesAuditSink extends AuditSink {
  /** Flush and close the file. */
  close(): Promise<void>
}

/**
 * An audit sink that appends each event as one JSON line to `path` (created with mode 0600).
 *
 * @example
 * ```ts
 * const audit = jsonLinesAuditSink('/var/log/agentmesh/audit.jsonl')
 * const agent = await createAgent({ name, relays, trust, audit })
 * ```
 */
export function jsonLinesAuditSink(path: string): JsonLinesAuditSink {
  const out: WriteStream = createWriteStream(path, { flags: 'a', mode: 0o600 })
  const sink = ((event: AuditEvent) => {
    out.write(`${JSON.stringify(event)}\n`)
  }) as JsonLinesAuditSink
  sink.close = () =>
    new Promise<void>((resolve, reject) => {
      out.end((err?: Error | null) => (err ? reject(err) : resolve()))
    })
  return sink
}

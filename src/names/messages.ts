/**
 * The wire format of `/agentmesh/dir/1`, declared in one place: one request and one answer per
 * stream, each a length-prefixed DAG-CBOR map.
 */
import { type ErrorCode, isErrorCode, MeshError } from '../errors.ts'
import { DIRECTORY_VERSION, MAX_RECORD_ADDRS } from './constants.ts'

/** Where a named agent can be reached, as a directory serves it. */
export interface NameRecord {
  /** The agent's name. */
  name: string
  /** The agent's PeerId. */
  peer: string
  /** Multiaddrs to dial it, usually circuit addresses through relays. */
  addrs: string[]
  /** Expiry, in ms since the epoch. */
  exp: number
}

/** Agent to relay: bind `name` to the calling peer at `addrs`, for `ttl` ms. */
export interface RegisterRequest {
  v: typeof DIRECTORY_VERSION
  type: 'register'
  name: string
  addrs: string[]
  ttl: number
}

/** Anyone to relay: where is `name`? */
export interface ResolveRequest {
  v: typeof DIRECTORY_VERSION
  type: 'resolve'
  name: string
}

export type DirectoryRequest = RegisterRequest | ResolveRequest

/** Relay to agent: the registration holds until `exp`. */
export interface RegisteredAnswer {
  v: typeof DIRECTORY_VERSION
  type: 'registered'
  exp: number
}

/** Relay to resolver: the record of a name. */
export interface RecordAnswer {
  v: typeof DIRECTORY_VERSION
  type: 'record'
  record: NameRecord
}

/** Relay to anyone: the request failed. */
export interface ErrorAnswer {
  v: typeof DIRECTORY_VERSION
  type: 'err'
  code: ErrorCode
  message: string
}

export type DirectoryAnswer = RegisteredAnswer | RecordAnswer | ErrorAnswer

function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  )
}

function isAddrList(value: unknown): value is string[] {
  return (
    Array.isArray(value) &&
    value.length <= MAX_RECORD_ADDRS &&
    value.every((a) => typeof a === 'string' && a.length > 0 && a.length <= 1024)
  )
}

function invalid(message: string): MeshError {
  return new MeshError('INVALID_ARGUMENT', `malformed directory message: ${message}`)
}

/** Check a decoded value is a directory request. */
export function parseRequest(value: unknown): DirectoryRequest {
  if (!isRecord(value)) throw invalid('not a map')
  if (value.v !== DIRECTORY_VERSION)
    throw new MeshError('UNIMPLEMENTED', `unsupported version ${String(value.v)}`)
  if (typeof value.name !== 'string') throw invalid('name must be a string')
  if (value.type === 'resolve') return value as unknown as ResolveRequest
  if (value.type === 'register') {
    if (!isAddrList(value.addrs)) throw invalid(`addrs must be 1 to ${MAX_RECORD_ADDRS} strings`)
    if (typeof value.ttl !== 'number' || !Number.isFinite(value.ttl) || value.ttl <= 0) {
      throw invalid('ttl must be a positive number of ms')
    }
    return value as unknown as RegisterRequest
  }
  throw invalid('unknown type')
}

/** Check a decoded value is a directory answer. */
export function parseAnswer(value: unknown): DirectoryAnswer {
  if (!isRecord(value)) throw invalid('not a map')
  if (value.v !== DIRECTORY_VERSION)
    throw new MeshError('UNIMPLEMENTED', `unsupported version ${String(value.v)}`)
  switch (value.type) {
    case 'registered':
      if (typeof value.exp !== 'number') throw invalid('exp must be a number')
      return value as unknown as RegisteredAnswer
    case 'record': {
      const r = value.record
      if (
        !isRecord(r) ||
        typeof r.name !== 'string' ||
        typeof r.peer !== 'string' ||
        !isAddrList(r.addrs) ||
        typeof r.exp !== 'number'
      ) {
        throw invalid('record must be { name, peer, addrs, exp }')
      }
      return value as unknown as RecordAnswer
    }
    case 'err':
      if (typeof value.message !== 'string') throw invalid('message must be a string')
      return { ...(value as unknown as ErrorAnswer), code: isErrorCode(value.code) ? value.code : 'UNKNOWN' }
    default:
      throw invalid('unknown type')
  }
}

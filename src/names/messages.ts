/**
 * The wire format of `/agentmesh/dir/1`, declared in one place. Each stream carries one request;
 * `register`, `resolve` and `list` get one answer, `watch` gets events until either side closes.
 * Records travel signed (`SignedNameRecord`): the relay verifies them before storing, and whoever
 * reads them verifies them again.
 */
import { type ErrorCode, isErrorCode, MeshError } from '../errors.ts'
import { DIRECTORY_VERSION, MAX_LIST_RESULTS } from './constants.ts'
import type { SignedNameRecord } from './record.ts'

/** Agent to relay: store my signed record. */
export interface RegisterRequest {
  v: typeof DIRECTORY_VERSION
  type: 'register'
  record: SignedNameRecord
}

/** Anyone to relay: the record of `name`. */
export interface ResolveRequest {
  v: typeof DIRECTORY_VERSION
  type: 'resolve'
  name: string
}

/** Anyone to relay: the records of every name under `prefix` (label boundary; `''` for all). */
export interface ListRequest {
  v: typeof DIRECTORY_VERSION
  type: 'list'
  prefix: string
  limit?: number
}

/** Anyone to relay: push an event whenever a name under `prefix` changes or expires. */
export interface WatchRequest {
  v: typeof DIRECTORY_VERSION
  type: 'watch'
  prefix: string
}

export type DirectoryRequest = RegisterRequest | ResolveRequest | ListRequest | WatchRequest

/** Relay to agent: stored, until `exp` (ms). */
export interface RegisteredAnswer {
  v: typeof DIRECTORY_VERSION
  type: 'registered'
  exp: number
  seq: number
}

/** Relay to resolver: the signed record of the name asked for. */
export interface RecordAnswer {
  v: typeof DIRECTORY_VERSION
  type: 'record'
  record: SignedNameRecord
}

/** Relay to lister: signed records under the prefix. */
export interface ListAnswer {
  v: typeof DIRECTORY_VERSION
  type: 'list'
  records: SignedNameRecord[]
}

/** Relay to watcher: `name` changed (with its new record) or expired. */
export interface WatchEvent {
  v: typeof DIRECTORY_VERSION
  type: 'event'
  kind: 'update' | 'expire'
  name: string
  record?: SignedNameRecord
}

/** Relay to anyone: the request failed. */
export interface ErrorAnswer {
  v: typeof DIRECTORY_VERSION
  type: 'err'
  code: ErrorCode
  message: string
}

export type DirectoryAnswer = RegisteredAnswer | RecordAnswer | ListAnswer | WatchEvent | ErrorAnswer

const PREFIX = /^([a-z0-9-]{1,63}(\/[a-z0-9-]{1,63}){0,7})?$/

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
}

function invalid(message: string): MeshError {
  return new MeshError('INVALID_ARGUMENT', `malformed directory message: ${message}`)
}

/** Check a decoded value is a directory request. */
export function parseRequest(value: unknown): DirectoryRequest {
  if (!isMap(value)) throw invalid('not a map')
  if (value.v !== DIRECTORY_VERSION) throw new MeshError('UNIMPLEMENTED', `unsupported version ${String(value.v)}`)
  switch (value.type) {
    case 'register':
      if (!isMap(value.record)) throw invalid('record must be { token, proofs }')
      return value as unknown as RegisterRequest
    case 'resolve':
      if (typeof value.name !== 'string') throw invalid('name must be a string')
      return value as unknown as ResolveRequest
    case 'list':
    case 'watch':
      if (typeof value.prefix !== 'string' || !PREFIX.test(value.prefix)) {
        throw invalid('prefix must be empty or whole labels: acme/prod')
      }
      if (value.limit !== undefined && (!Number.isSafeInteger(value.limit) || (value.limit as number) < 1)) {
        throw invalid('limit must be a positive integer')
      }
      return value as unknown as ListRequest | WatchRequest
    default:
      throw invalid('unknown type')
  }
}

/** Check a decoded value is a directory answer or event. Records inside are verified by the caller. */
export function parseAnswer(value: unknown): DirectoryAnswer {
  if (!isMap(value)) throw invalid('not a map')
  if (value.v !== DIRECTORY_VERSION) throw new MeshError('UNIMPLEMENTED', `unsupported version ${String(value.v)}`)
  switch (value.type) {
    case 'registered':
      if (typeof value.exp !== 'number' || typeof value.seq !== 'number') throw invalid('exp and seq must be numbers')
      return value as unknown as RegisteredAnswer
    case 'record':
      if (!isMap(value.record)) throw invalid('record must be a map')
      return value as unknown as RecordAnswer
    case 'list':
      if (!Array.isArray(value.records) || value.records.length > MAX_LIST_RESULTS) throw invalid('records must be a list')
      return value as unknown as ListAnswer
    case 'event':
      if ((value.kind !== 'update' && value.kind !== 'expire') || typeof value.name !== 'string') {
        throw invalid('an event has a kind and a name')
      }
      return value as unknown as WatchEvent
    case 'err':
      if (typeof value.message !== 'string') throw invalid('message must be a string')
      return { ...(value as unknown as ErrorAnswer), code: isErrorCode(value.code) ? value.code : 'UNKNOWN' }
    default:
      throw invalid('unknown type')
  }
}

/** True when `name` is `prefix` or below it (label boundary); every name is below `''`. */
export function underPrefix(name: string, prefix: string): boolean {
  return prefix === '' || name === prefix || name.startsWith(`${prefix}/`)
}

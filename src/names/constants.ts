/** The name directory protocol id. */
export const DIRECTORY_PROTOCOL = '/agentmesh/dir/1'

/** The directory message format version carried in every message (`v`). */
export const DIRECTORY_VERSION = 1

/** Largest directory message accepted, in bytes. */
export const MAX_DIRECTORY_MESSAGE_BYTES = 64 * 1024

/** Lifetime of a registration when the agent asks for none: 5 minutes. */
export const DEFAULT_RECORD_TTL_MS = 5 * 60 * 1000

/** Longest registration lifetime a relay grants: 1 hour. */
export const MAX_RECORD_TTL_MS = 60 * 60 * 1000

/** Time a directory exchange may take, in ms. */
export const DIRECTORY_TIMEOUT_MS = 5_000

/** Fewest and most labels in a name. */
export const MIN_NAME_LABELS = 2
export const MAX_NAME_LABELS = 8

/** Longest label of a name. */
export const MAX_LABEL_LENGTH = 63

/** Most addresses in one registration. */
export const MAX_RECORD_ADDRS = 16

/** Directory streams one connection may have open at once on a relay. */
export const MAX_DIRECTORY_STREAMS = 64

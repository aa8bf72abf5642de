/** The intent RPC protocol id. The version in the id changes only with an incompatible wire change. */
export const RPC_PROTOCOL = '/agentmesh/rpc/1'

/** The frame format version carried in every frame (`v`). */
export const FRAME_VERSION = 1

/** Largest frame (length prefix excluded) accepted or sent: 64 MiB, so a 64 MiB result fits. */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024 + 4096

/**
 * Bytes of frames not yet whole that an agent holds at most, across all callers: four frames of the
 * largest size. One caller may make it hold at most two across its streams (two large calls of its
 * own arriving side by side). Past either, the stream whose bytes went over is answered
 * `RESOURCE_EXHAUSTED` and reset.
 */
export const MAX_BUFFERED_FRAME_BYTES = 4 * MAX_FRAME_BYTES

/**
 * How long a frame not yet whole may go without a byte before its stream is answered
 * `DEADLINE_EXCEEDED` and reset, in ms: a caller cannot hold the agent's memory by going silent
 * in the middle of a frame. A stream the agent itself stopped reading does not count.
 */
export const FRAME_STALL_MS = 30_000

/** Largest length prefix in bytes (a varint of up to 2^35 - 1). */
export const MAX_PREFIX_BYTES = 5

/** Deadline used when a call gives none: 30 s, as gRPC clients commonly default. */
export const DEFAULT_CALL_TIMEOUT_MS = 30_000

/** Longest deadline a caller may ask for: 1 hour. Longer ones are clamped. */
export const MAX_CALL_TIMEOUT_MS = 60 * 60 * 1000

/** Requests in flight on one inbound RPC stream at once. */
export const MAX_CALLS_PER_STREAM = 1024

/** Inbound RPC streams per connection, as libp2p's `maxInboundStreams`. */
export const MAX_INBOUND_STREAMS = 1024

/** Outbound RPC streams per connection, as libp2p's `maxOutboundStreams`. */
export const MAX_OUTBOUND_STREAMS = 1024

/** Calls running at once on one agent, across all callers; more are refused with `RESOURCE_EXHAUSTED`. */
export const MAX_INFLIGHT_CALLS = 4096

/** Calls one caller (PeerId) may have running at once on one agent. */
export const MAX_CALLS_PER_CALLER = 256

/** How long an idempotency key remembers the first outcome: 10 minutes. */
export const IDEMPOTENCY_WINDOW_MS = 10 * 60 * 1000

/**
 * Idempotency keys remembered per caller (PeerId); when a caller uses one more, its own oldest key is
 * forgotten, never another caller's.
 */
export const MAX_IDEMPOTENCY_KEYS_PER_CALLER = 1_000

/**
 * Callers whose idempotency keys are remembered at once; when one more caller uses a key, the caller
 * that used one least recently is forgotten with all its keys.
 */
export const MAX_IDEMPOTENCY_CALLERS = 256

/**
 * Bytes of remembered idempotent outcomes per caller: one largest frame. Past it, the caller's
 * oldest keys are forgotten (a retry of one of them runs the intent again).
 */
export const MAX_IDEMPOTENCY_BYTES_PER_CALLER = MAX_FRAME_BYTES

/** Bytes of remembered idempotent outcomes in all: four largest frames. */
export const MAX_IDEMPOTENCY_BYTES = 4 * MAX_FRAME_BYTES

/** The agent card protocol id. */
export const CARD_PROTOCOL = '/agentmesh/card'

/** Largest agent card accepted by a caller, in bytes. */
export const MAX_CARD_BYTES = 1024 * 1024

/**
 * Largest request sent on a connection's shared call stream; a larger one gets a stream of its own,
 * so that one big payload does not hold up the small calls sharing the stream.
 */
export const SHARED_STREAM_MAX_REQUEST_BYTES = 64 * 1024

/** Calls a caller multiplexes on one shared stream before it opens another. */
export const CALLS_PER_SHARED_STREAM = 512

/**
 * Frames a call stream gathers into one write before it sends them without waiting for the end of
 * the event loop's turn. Sending every 32 frames lets the other side start on the first answers
 * while this side works on the rest: at 64 calls in flight that was about 1.5x the throughput of one
 * write per turn on a direct connection, and no worse through a relay (A/B runs of the bench parties).
 */
export const BATCH_MAX_FRAMES = 32

/**
 * How long a call stream must have written nothing before a frame is sent at once rather than
 * gathered with the frames of its turn (when the last turn that wrote carried one frame only), in ms.
 * Frames of one turn follow each other within microseconds; calls made one at a time are a network
 * round trip apart.
 */
export const BATCH_QUIET_MS = 0.1

/** Bytes a call stream gathers into one write at most, for the same reason. */
export const BATCH_MAX_BYTES = 16 * 1024

/**
 * Answers an agent lets wait for one caller's stream before it stops reading that caller's requests,
 * in bytes. A caller that does not read its answers (or stops granting yamux window) then stops
 * being read too: its requests wait in its own buffers, not in the agent's memory.
 */
export const MAX_ANSWER_BACKLOG_BYTES = 4 * 1024 * 1024

/** Command strings a caller remembers as checked, so that calling the same intent again skips the check. */
export const CHECKED_COMMANDS_MAX = 1024

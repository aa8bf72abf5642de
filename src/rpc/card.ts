import { pipe } from 'it-pipe'
import { MeshError } from '../errors.ts'
import { decodeMessages, writeMessage } from './codec.ts'
import { CARD_PROTOCOL, FRAME_VERSION, MAX_CARD_BYTES } from './constants.ts'
import { jsonSchemaOf } from './contract.ts'
import type { ServedIntent } from './server-types.ts'
import type { AbortOptions, Connection, Stream } from '@libp2p/interface'

/** One intent as the agent card describes it. */
export interface IntentCard {
  cmd: string
  description: string | null
  /** JSON Schema (draft 2020-12) of the arguments, or null when the schema library cannot produce one. */
  args: Record<string, unknown> | null
  result: Record<string, unknown> | null
  progress: Record<string, unknown> | null
}

/**
 * What an agent says about itself on `/agentmesh/card`, the way a NATS service answers `$SRV.INFO`:
 * enough for an orchestrator or an LLM to plan with.
 */
export interface AgentCard {
  v: typeof FRAME_VERSION
  name: string | null
  peer: string
  version: string | null
  description: string | null
  intents: IntentCard[]
  stats: { inflight: number }
}

/** Build the card of an agent from what it serves. */
export function buildCard(
  info: { name?: string | undefined; peer: string; version?: string | undefined; description?: string | undefined },
  served: ServedIntent[],
  inflight: number
): AgentCard {
  return {
    v: FRAME_VERSION,
    name: info.name ?? null,
    peer: info.peer,
    version: info.version ?? null,
    description: info.description ?? null,
    intents: served.map(({ contract }) => ({
      cmd: contract.cmd,
      description: contract.description ?? null,
      args: jsonSchemaOf(contract.args, 'input'),
      result: jsonSchemaOf(contract.result, 'output'),
      progress: jsonSchemaOf(contract.progress, 'output')
    })),
    stats: { inflight }
  }
}

/** Answer a card request on `stream`: write the card, close. */
export async function answerCard(stream: Stream, card: AgentCard): Promise<void> {
  await writeMessage(stream, card)
  await stream.close()
}

/** Ask the agent at the other end of `connection` for its card. */
export async function fetchCard(connection: Connection, options: AbortOptions = {}): Promise<AgentCard> {
  const stream = await connection.newStream(CARD_PROTOCOL, { ...options, runOnLimitedConnection: true })
  try {
    await stream.close(options)
    for await (const value of pipe(stream, decodeMessages({ maxBytes: MAX_CARD_BYTES }))) {
      const card = value as AgentCard
      if (typeof card !== 'object' || card === null || !Array.isArray(card.intents) || typeof card.peer !== 'string') {
        throw new MeshError('INVALID_ARGUMENT', 'the agent card is malformed')
      }
      return card
    }
    throw new MeshError('UNAVAILABLE', 'the agent sent no card')
  } catch (err) {
    stream.abort(err as Error)
    throw MeshError.from(err, 'UNAVAILABLE')
  }
}

// The floor on agentmesh's own relayed path: the raw protocol `/bench/echo/1` served by the agent's
// libp2p node, over the very relayed TCP connection a call by name opens. Either a stream per
// request (as agentmesh does today) or one long-lived stream per worker.
import { peerIdFromString } from '@libp2p/peer-id'
import {
  blobRequest,
  MessageReader,
  OP_ECHO,
  RAW_PROTOCOL,
  request,
  SMALL_BYTES,
  SMALL_OBJECT
} from '../lib/wire.ts'
import { connectCaller, describePath } from './agentmesh.ts'
import { field, type SystemDriver } from './types.ts'
import type { Connection, Stream } from '@libp2p/interface'

const ECHO = request(OP_ECHO, SMALL_BYTES)
// The caller does not serve the protocol, so its outbound stream limit comes from these options.
const OPEN = { runOnLimitedConnection: true, maxOutboundStreams: 4096 }

async function exchangeOnNewStream(connection: Connection, req: Uint8Array): Promise<number> {
  const stream = await connection.newStream(RAW_PROTOCOL, { ...OPEN, signal: AbortSignal.timeout(60_000) })
  try {
    if (!stream.send(req)) await stream.onDrain()
    const message = await new MessageReader(stream).read()
    await stream.close()
    return message.byteLength
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

function makeDriver(reuse: boolean): SystemDriver {
  return {
    async connect(target) {
      const name = field(target, 'name')
      const peer = field(target, 'peerId')
      const caller = await connectCaller(target)
      // Resolve and dial exactly as a call by name does, then take that connection.
      await caller.call(name, '/bench/echo', SMALL_OBJECT, { timeout: 30_000 })
      const connection = caller.node.getConnections(peerIdFromString(peer))[0]
      if (connection === undefined) throw new Error('no connection to the agent after a call')
      const lanes = new Map<number, { stream: Stream; reader: MessageReader }>()
      // why the relayed connection closed, for the error of the next call (the bench then drops this system)
      let closed: string | undefined
      connection.addEventListener('close', (evt) => {
        const error = (evt as unknown as { error?: Error }).error
        closed = error === undefined ? 'closed cleanly' : `${error.name}: ${error.message}`
      })
      const lane = async (index: number): Promise<{ stream: Stream; reader: MessageReader }> => {
        if (closed !== undefined) throw new Error(`the relayed connection to the agent is ${connection.status} (${closed})`)
        let l = lanes.get(index)
        if (l !== undefined && (l.stream.status !== 'open' || l.stream.writeStatus !== 'writable')) {
          throw new Error(`lane ${index} is ${l.stream.status} on a connection that is ${connection.status}`)
        }
        if (l === undefined) {
          const stream = await connection.newStream(RAW_PROTOCOL, OPEN)
          l = { stream, reader: new MessageReader(stream) }
          lanes.set(index, l)
        }
        return l
      }
      const exchangeOnLane = async (index: number, req: Uint8Array): Promise<number> => {
        const { stream, reader } = await lane(index)
        if (!stream.send(req)) await stream.onDrain()
        return (await reader.read()).byteLength
      }
      return {
        async echo(index) {
          const size = reuse ? await exchangeOnLane(index, ECHO) : await exchangeOnNewStream(connection, ECHO)
          if (size !== SMALL_BYTES.byteLength) throw new Error('echo returned something else')
        },
        blob: (size) =>
          reuse ? exchangeOnLane(-1, blobRequest(size)) : exchangeOnNewStream(connection, blobRequest(size)),
        path: () => describePath(caller, peer),
        async close() {
          for (const { stream } of lanes.values()) await stream.close().catch(() => {})
          await caller.stop()
        }
      }
    }
  }
}

export const perRequest = makeDriver(false)
export const reused = makeDriver(true)

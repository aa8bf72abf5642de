// A preload (`node --import`) for bench/hops.ts: timestamps every TCP socket write and every data
// event of the process, in absolute microseconds, and writes them to $AGENTMESH_SOCKET_TRACE/<pid>.json
// when the process exits. Records are [time, kind (1 write, 0 data), local port, remote port, bytes].
import { writeFileSync } from 'node:fs'
import net from 'node:net'

const dir = process.env.AGENTMESH_SOCKET_TRACE
/** Numbers kept at most (5 per record): the last calls of a run are the ones analysed. */
const MAX_NUMBERS = 5 * 400_000

if (dir !== undefined) {
  let records: number[] = []
  /** Records dropped (the oldest half, each time the cap is reached): bench/hops.ts warns of them. */
  let dropped = 0
  const now = (): number => (performance.timeOrigin + performance.now()) * 1000
  const note = (kind: number, socket: net.Socket, bytes: number): void => {
    if (socket.remotePort === undefined) return
    if (records.length >= MAX_NUMBERS) {
      records = records.slice(MAX_NUMBERS / 2)
      dropped += MAX_NUMBERS / 10
    }
    records.push(now(), kind, socket.localPort ?? 0, socket.remotePort, bytes)
  }
  const proto = net.Socket.prototype as unknown as {
    write: (this: net.Socket, chunk: { length?: number }, ...rest: unknown[]) => boolean
    emit: (this: net.Socket, name: string | symbol, ...args: unknown[]) => boolean
  }
  const write = proto.write
  proto.write = function (chunk, ...rest) {
    note(1, this, chunk?.length ?? 0)
    return write.call(this, chunk, ...rest)
  }
  const emit = proto.emit
  proto.emit = function (name, ...args) {
    if (name === 'data') note(0, this, (args[0] as { length?: number } | undefined)?.length ?? 0)
    return emit.call(this, name, ...args)
  }
  process.on('exit', () => {
    writeFileSync(`${dir}/${process.pid}.json`, JSON.stringify({ argv: process.argv.slice(1), records, dropped }))
  })
}

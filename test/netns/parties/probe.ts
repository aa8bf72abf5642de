// `probe.ts listen <port>`: a plain TCP server on IPv4 and IPv6 (a would-be inbound service on the edge host).
// `probe.ts connect <host> <port> <timeoutMs>`: try one TCP connection, print how it went.
import { connect, createServer } from 'node:net'
import { emit } from './lines.ts'

const [mode, a, b, c] = process.argv.slice(2)
if (mode === 'listen') {
  const server = createServer((socket) => {
    socket.on('error', () => {}) // a prober that hangs up at once resets the connection
    socket.end('hello\n')
  })
  server.listen(Number(a), '::', () => emit({ ready: { port: Number(a) } }))
  process.on('SIGTERM', () => server.close(() => process.exit(0)))
} else {
  const started = Date.now()
  const socket = connect({ host: a!, port: Number(b) })
  const timer = setTimeout(() => {
    emit({ result: 'timeout', ms: Date.now() - started })
    process.exit(0)
  }, Number(c))
  socket.once('connect', () => {
    clearTimeout(timer)
    emit({ result: 'connected', ms: Date.now() - started })
    process.exit(0)
  })
  socket.once('error', (err: NodeJS.ErrnoException) => {
    clearTimeout(timer)
    emit({ result: 'error', code: err.code, ms: Date.now() - started })
    process.exit(0)
  })
}

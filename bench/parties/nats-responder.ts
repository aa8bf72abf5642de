// The NATS responder: subscribes to `bench.echo` (answers the request's bytes) and `bench.blob`
// (answers u32be(size) zero bytes) on the broker at argv[0], always 127.0.0.1; over TLS, trusting
// the certificate file argv[1], when given.
import { connect } from '@nats-io/transport-node'
import { benchTls } from '../clients/nats.ts'
import { arg, serveParty } from '../lib/party.ts'
import { blob } from '../lib/wire.ts'

await serveParty(async () => {
  const url = arg(0)
  if (!url.startsWith('nats://127.0.0.1:')) throw new Error('the bench only talks to 127.0.0.1')
  const caFile = arg(1, '')
  const nc = await connect({ servers: url, ...(caFile === '' ? {} : { tls: benchTls(caFile) }) })
  if (caFile !== '' && nc.info?.tls_required !== true) throw new Error('the broker does not require TLS')
  nc.subscribe('bench.echo', { callback: (_err, msg) => void msg.respond(msg.data) })
  nc.subscribe('bench.blob', {
    callback: (_err, msg) => {
      const size = new DataView(msg.data.buffer, msg.data.byteOffset, 4).getUint32(0)
      msg.respond(blob(size))
    }
  })
  await nc.flush()
  return {
    info: { url },
    party: { ops: {}, stop: () => nc.close() }
  }
})

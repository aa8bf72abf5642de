// A capacity worker: many idle edge agents in one process, each a full agentmesh agent (its own
// libp2p node, key and relay keeper) with its own naming right, granted here by the bench authority
// (key file argv[1]) for the name `acme/idle/w<argv[2]>/a<i>`. Each one reserves a circuit slot on the
// relay at argv[0] (the relay admits it for that right over /agentmesh/admit/1) and registers its
// name there, exactly as a production agent does; then it stays idle. Nothing is allow-listed.
//
// Ops: `start { count, concurrency }` starts `count` more agents, `concurrency` at a time, and
// answers when all are ready (failures are counted, not retried); `stats` reports what is running.
import { type Agent, createAgent, grantName } from 'agentmesh'
import { generateSigner, loadKey } from 'agentmesh/identity'
import { arg, num, serveParty } from '../lib/party.ts'

await serveParty(async () => {
  const relay = arg(0)
  const authority = await loadKey(arg(1))
  const worker = arg(2)
  const trust = { acme: authority.did }
  const agents: Agent[] = []
  const errors: string[] = []
  let next = 0
  let failed = 0

  const startOne = async (): Promise<void> => {
    const i = next++
    const name = `acme/idle/w${worker}/a${i}`
    const key = generateSigner()
    const right = await grantName({
      issuer: authority,
      audience: key.did,
      name,
      expiration: Math.floor(Date.now() / 1000) + 6 * 3600
    })
    try {
      agents.push(await createAgent({ name, relays: [relay], identity: key, proofs: [right], trust }))
    } catch (err) {
      failed++
      if (errors.length < 5) errors.push(String((err as Error)?.message ?? err).slice(0, 200))
    }
  }

  return {
    info: { worker },
    party: {
      ops: {
        async start(command) {
          const count = num(command, 'count', 100)
          const concurrency = num(command, 'concurrency', 16)
          const t0 = performance.now()
          let left = count
          await Promise.all(
            Array.from({ length: Math.min(concurrency, count) }, async () => {
              while (left > 0) {
                left--
                await startOne()
              }
            })
          )
          return { started: agents.length, failed, errors, ms: performance.now() - t0 }
        },
        stats: () => ({
          agents: agents.length,
          reserved: agents.filter((a) => a.addrs.length > 0).length,
          failed,
          rss: process.memoryUsage().rss
        })
      },
      async stop() {
        await Promise.allSettled(agents.map((a) => a.stop()))
      }
    }
  }
})

// The operator's step, done once and offline: an organisation key (the authority) and a delegation
// from it to the orchestrator, written as files. The authority key never goes to any process below.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { grantName, saveTokens } from 'agentmesh'
import { generateSigner, saveKey } from 'agentmesh/identity'
import { delegate } from 'agentmesh/ucan'
import { runIfMain } from '../shared/operator-step.ts'

/** Create the demo's keys and tokens in `dir`; returns the authority's did. */
export async function setUpAuthority(dir: string): Promise<{ authorityDid: string }> {
  const authority = generateSigner() // acme's organisation key
  const agent = generateSigner()
  const orchestrator = generateSigner()
  const inAnHour = Math.floor(Date.now() / 1000) + 3600

  // the orchestrator may greet, and count, but only up to 5
  const greet = await delegate({
    issuer: authority,
    audience: orchestrator.did,
    subject: authority.did,
    command: '/demo/greet',
    expiration: inAnHour
  })
  const count = await delegate({
    issuer: authority,
    audience: orchestrator.did,
    subject: authority.did,
    command: '/demo/count',
    policy: [['<=', '.to', 5]],
    expiration: inAnHour
  })
  // the edge agent may call itself acme/prod/demo: relays admit it and resolvers believe its record
  const nameRight = await grantName({ issuer: authority, audience: agent.did, name: 'acme/prod/demo', expiration: inAnHour })
  await saveKey(join(dir, 'agent.key'), agent)
  await saveTokens(join(dir, 'agent.ucan'), [nameRight])
  await saveKey(join(dir, 'orchestrator.key'), orchestrator)
  await writeFile(join(dir, 'greet.ucan'), greet.bytes)
  await writeFile(join(dir, 'count.ucan'), count.bytes)
  return { authorityDid: authority.did }
}

// `node authority.ts <keys-dir>`: the step on its own, for the roles run by hand
await runIfMain(import.meta.url, setUpAuthority)

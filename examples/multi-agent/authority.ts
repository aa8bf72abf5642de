// The operator's step, done once and offline: names for the two agents, and the orchestrator's
// capabilities. The agents get no capability from the authority: the librarian will act only on
// what the orchestrator hands it, call by call.
import { join } from 'node:path'
import { grantName, saveTokens } from 'agentmesh'
import { generateSigner, saveKey } from 'agentmesh/identity'
import { delegate } from 'agentmesh/ucan'
import { runIfMain } from '../shared/operator-step.ts'

/** Create the demo's keys and tokens in `dir`; returns the authority's did. */
export async function setUpAuthority(dir: string): Promise<{ authorityDid: string }> {
  const authority = generateSigner()
  const librarian = generateSigner()
  const compliance = generateSigner()
  const orchestrator = generateSigner()
  const inAnHour = Math.floor(Date.now() / 1000) + 3600
  const grant = (command: string) =>
    delegate({ issuer: authority, audience: orchestrator.did, subject: authority.did, command, expiration: inAnHour })

  // the orchestrator may use the library and the compliance service
  const library = await grant('/library')
  const checks = await grant('/compliance')
  await saveKey(join(dir, 'orchestrator.key'), orchestrator)
  await saveTokens(join(dir, 'orchestrator.ucan'), [library, checks])

  for (const [name, key] of [['librarian', librarian], ['compliance', compliance]] as const) {
    const nameRight = await grantName({ issuer: authority, audience: key.did, name: `acme/prod/${name}`, expiration: inAnHour })
    await saveKey(join(dir, `${name}.key`), key)
    await saveTokens(join(dir, `${name}.ucan`), [nameRight])
  }
  return { authorityDid: authority.did }
}

// `node authority.ts <keys-dir>`: the step on its own, for the roles run by hand
await runIfMain(import.meta.url, setUpAuthority)

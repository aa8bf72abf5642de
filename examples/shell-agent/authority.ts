// The operator's step, done once and offline: an organisation key, the VM agent's right to its name,
// and what the orchestrator may ask of it, as argument policies on the command line it sends.
import { join } from 'node:path'
import { grantName, saveTokens } from 'agentmesh'
import { generateSigner, saveKey } from 'agentmesh/identity'
import { delegate } from 'agentmesh/ucan'
import { runIfMain } from '../shared/operator-step.ts'

/** A policy statement: `selector` equals one of `values`. */
const oneOf = (selector: string, values: string[]): unknown[] => ['or', values.map((v) => ['==', selector, v])]

/** Create the demo's keys and tokens in `dir`; returns the authority's did. */
export async function setUpAuthority(dir: string): Promise<{ authorityDid: string }> {
  const authority = generateSigner()
  const agent = generateSigner()
  const orchestrator = generateSigner()
  const inAnHour = Math.floor(Date.now() / 1000) + 3600

  // The orchestrator may use /shell (the /shell/run intent, and the /shell/exec action the agent
  // derives from it) only for command lines { argv: [...] } of exactly these shapes, fleet-wide:
  //   systemctl status|restart nginx|redis
  //   journalctl -u nginx|redis
  const units = ['nginx', 'redis']
  const shell = await delegate({
    issuer: authority,
    audience: orchestrator.did,
    subject: authority.did,
    command: '/shell',
    policy: [
      ['==', '.argv[3:]', []], // three words at most: program, verb, unit
      [
        'or',
        [
          ['and', [['==', '.argv[0]', 'systemctl'], oneOf('.argv[1]', ['status', 'restart']), oneOf('.argv[2]', units)]],
          ['and', [['==', '.argv[0]', 'journalctl'], ['==', '.argv[1]', '-u'], oneOf('.argv[2]', units)]]
        ]
      ]
    ],
    expiration: inAnHour
  })
  const nameRight = await grantName({ issuer: authority, audience: agent.did, name: 'acme/prod/web-1', expiration: inAnHour })
  await saveKey(join(dir, 'agent.key'), agent)
  await saveTokens(join(dir, 'agent.ucan'), [nameRight])
  await saveKey(join(dir, 'orchestrator.key'), orchestrator)
  await saveTokens(join(dir, 'orchestrator.ucan'), [shell])
  return { authorityDid: authority.did }
}

// `node authority.ts <keys-dir>`: the step on its own, for the roles run by hand
await runIfMain(import.meta.url, setUpAuthority)

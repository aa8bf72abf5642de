// The operator's step, done once and offline: an organisation key, the agent's right to its name, and
// one delegation per orchestrator. The authority key never goes to any process below.
import { join } from 'node:path'
import { grantName, saveTokens } from 'agentmesh'
import { generateSigner, saveKey } from 'agentmesh/identity'
import { delegate } from 'agentmesh/ucan'
import { runIfMain } from '../shared/operator-step.ts'

// A caller's chain is checked twice: against the call (`/sql/query { sql }`) and against each action
// the agent derives from it (`/sql/select { op, table }`, `/sql/update { op, table }`…). One policy
// covers both: `.op` is null on the call itself and set on every derived action.

/** The analyst: may run queries, and each statement may only read. */
export const READ_ONLY = [
  [
    'or',
    [
      ['==', '.op', null],
      ['==', '.op', 'select']
    ]
  ]
]

/** The order service: reads anything, writes only to `orders`. */
export const ORDERS_WRITER = [
  [
    'or',
    [
      ['==', '.op', null],
      ['==', '.op', 'select'],
      ['==', '.table', 'orders']
    ]
  ]
]

/** Create the demo's keys and tokens in `dir`; returns the authority's did. */
export async function setUpAuthority(dir: string): Promise<{ authorityDid: string }> {
  const authority = generateSigner() // acme's organisation key
  const agent = generateSigner()
  const inAnHour = Math.floor(Date.now() / 1000) + 3600
  const nameRight = await grantName({
    issuer: authority,
    audience: agent.did,
    name: 'acme/prod/db',
    expiration: inAnHour
  })
  await saveKey(join(dir, 'agent.key'), agent)
  await saveTokens(join(dir, 'agent.ucan'), [nameRight])
  for (const [role, policy] of [
    ['analyst', READ_ONLY],
    ['orders-service', ORDERS_WRITER]
  ] as const) {
    const key = generateSigner()
    // `/sql` covers the intent `/sql/query` and every derived `/sql/<op>`; the policy narrows both
    const grant = await delegate({
      issuer: authority,
      audience: key.did,
      subject: authority.did,
      command: '/sql',
      policy,
      expiration: inAnHour
    })
    await saveKey(join(dir, `${role}.key`), key)
    await saveTokens(join(dir, `${role}.ucan`), [grant])
  }
  return { authorityDid: authority.did }
}

// `node authority.ts <keys-dir>`: the step on its own, for the roles run by hand
await runIfMain(import.meta.url, setUpAuthority)

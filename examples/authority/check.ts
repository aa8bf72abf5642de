// Prove the files work: load them as an agent, an orchestrator or a sub-authority would, sign an
// invocation with each key, and validate it the way every agent and relay does.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { grantName, loadTokens } from 'agentmesh'
import { loadKey } from 'agentmesh/identity'
import { type Delegation, invoke, UcanError, validate } from 'agentmesh/ucan'

/** `keyFile` invokes `command` with `args` over `proofs`; a verifier trusting `authority` decides. */
async function verdict(
  keyFile: string,
  proofs: Delegation[],
  authority: string,
  command: string,
  args: Record<string, unknown>
): Promise<string> {
  const inv = await invoke({
    issuer: await loadKey(keyFile),
    subject: authority,
    command,
    args,
    proofs,
    expiration: Math.floor(Date.now() / 1000) + 60
  })
  try {
    await validate(inv.bytes, { proofs: proofs.map((d) => d.bytes), trusted: [authority] })
    return 'allowed'
  } catch (err) {
    if (err instanceof UcanError) return `refused (${err.reason})`
    throw err
  }
}

/** Run every check against the files in `dir`, one line each; true when all came out as expected. */
export async function check(dir: string): Promise<boolean> {
  const file = (name: string): string => join(dir, name)
  const { acme } = JSON.parse(await readFile(file('trust.json'), 'utf8')) as { acme: string }
  const agentChain = await loadTokens(file('k8s-agent.ucan'))
  const orchestratorChain = await loadTokens(file('orchestrator.ucan'))
  // an agent's name record is an invocation of /agentmesh/name with the claimed name in its args
  const claim = (proofs: Delegation[], name: string) =>
    verdict(file('k8s-agent.key'), proofs, acme, '/agentmesh/name', { name })
  const orchestrate = (command: string, args: Record<string, unknown>) =>
    verdict(file('orchestrator.key'), orchestratorChain, acme, command, args)

  // prod-ops tries to name an agent outside its subtree: it can sign such a grant, but no verifier accepts it
  const prodOps = await loadKey(file('prod-ops.key'))
  const agentDid = (await loadKey(file('k8s-agent.key'))).did
  const expiration = Math.floor(Date.now() / 1000) + 600
  const outside = await grantName({ issuer: prodOps, audience: agentDid, subject: acme, name: 'acme/dev/db', expiration })
  const subtree = await loadTokens(file('prod-ops.ucan'))

  const checks: Array<[string, () => Promise<string>, string]> = [
    // the naming chain: acme -> prod-ops (acme/prod/*) -> agent (acme/prod/k8s)
    ['agent claims acme/prod/k8s', () => claim(agentChain, 'acme/prod/k8s'), 'allowed'],
    ['agent claims acme/prod/db', () => claim(agentChain, 'acme/prod/db'), 'refused (MatchError)'],
    ['prod-ops names an agent acme/dev/db', () => claim([...subtree, outside], 'acme/dev/db'), 'refused (MatchError)'],
    // the orchestrator's capability: /k8s/scale with replicas <= 10 and namespace like 'web-*'
    ['scale web-api to 3', () => orchestrate('/k8s/scale', { replicas: 3, namespace: 'web-api' }), 'allowed'],
    ['scale to 50', () => orchestrate('/k8s/scale', { replicas: 50 }), 'refused (MatchError)'],
    ['scale kube-system to 3', () => orchestrate('/k8s/scale', { replicas: 3, namespace: 'kube-system' }), 'refused (MatchError)'],
    ['delete a deployment', () => orchestrate('/k8s/delete', { namespace: 'web-api' }), 'refused (InvalidClaim)'],
    // a copy of the orchestrator's token is useless without the orchestrator's key
    [
      "agent uses the orchestrator's token",
      () => verdict(file('k8s-agent.key'), orchestratorChain, acme, '/k8s/scale', { replicas: 3, namespace: 'web-api' }),
      'refused (InvalidAudience)'
    ]
  ]
  let ok = true
  for (const [what, run, expected] of checks) {
    const got = await run()
    ok &&= got === expected
    console.log(`  ${got === expected ? 'ok  ' : 'FAIL'} ${what.padEnd(38)} ${got}`)
  }
  return ok
}

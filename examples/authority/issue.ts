// The operator's offline step: every key and token of a small organisation, written as files.
// Run once, on a trusted machine; then hand each party only its own files.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { grantName, saveTokens } from 'agentmesh'
import { generateSigner, saveKey } from 'agentmesh/identity'
import { delegate } from 'agentmesh/ucan'

const DAY = 24 * 3600

/** Create the organisation's keys and tokens in `dir`. */
export async function issue(dir: string): Promise<void> {
  const now = Math.floor(Date.now() / 1000)
  const acme = generateSigner() // the organisation key: the root every agent trusts
  const prodOps = generateSigner() // a sub-authority: the team that runs acme/prod/*
  const agent = generateSigner() // an edge agent that will call itself acme/prod/k8s
  const orchestrator = generateSigner() // calls agents; holds capabilities, never a name

  // 1. acme lets prod-ops hand out any name under acme/prod/ (and nothing else), for 90 days
  const subtree = await grantName({ issuer: acme, audience: prodOps.did, name: 'acme/prod/*', expiration: now + 90 * DAY })
  // 2. prod-ops, not acme, names the agent; `subject` says whose names these are
  const name = await grantName({
    issuer: prodOps,
    audience: agent.did,
    subject: acme.did,
    name: 'acme/prod/k8s',
    expiration: now + 30 * DAY
  })
  // 3. acme lets the orchestrator scale web deployments, up to 10 replicas, for one day
  const scale = await delegate({
    issuer: acme,
    audience: orchestrator.did,
    subject: acme.did,
    command: '/k8s/scale',
    policy: [
      ['<=', '.replicas', 10],
      ['like', '.namespace', 'web-*']
    ],
    expiration: now + DAY
  })

  // keys: mode 0600, refused by loadKey when anyone else can read them
  await saveKey(join(dir, 'acme.key'), acme) // keep offline: it can issue anything
  await saveKey(join(dir, 'prod-ops.key'), prodOps)
  await saveKey(join(dir, 'k8s-agent.key'), agent)
  await saveKey(join(dir, 'orchestrator.key'), orchestrator)
  // tokens: signed, not secret (each one is useful only with its audience's key)
  await saveTokens(join(dir, 'prod-ops.ucan'), [subtree])
  await saveTokens(join(dir, 'k8s-agent.ucan'), [subtree, name]) // the whole chain, root first
  await saveTokens(join(dir, 'orchestrator.ucan'), [scale])
  // what relays and agents are configured with: organisation -> its authority's did
  await writeFile(join(dir, 'trust.json'), `${JSON.stringify({ acme: acme.did }, null, 2)}\n`)
}

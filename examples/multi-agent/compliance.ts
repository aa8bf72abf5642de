// The compliance agent: checks a document's metadata, for whoever holds /compliance/check from acme,
// directly or through someone who handed part of it on.
import { join } from 'node:path'
import { createAgent, loadTokens } from 'agentmesh'
import { loadKey } from 'agentmesh/identity'
import { stopOnSignal } from '../shared/stop-on-signal.ts'
import { check } from './intents.ts'

const [relayAddr, authorityDid, dir] = process.argv.slice(2)
if (relayAddr === undefined || authorityDid === undefined || dir === undefined) {
  throw new Error('usage: compliance.ts <relay> <authority-did> <keys-dir>')
}

const agent = await createAgent({
  name: 'acme/prod/compliance',
  relays: [relayAddr],
  identity: await loadKey(join(dir, 'compliance.key')),
  proofs: await loadTokens(join(dir, 'compliance.ucan')),
  trust: { acme: authorityDid },
  // the chain says who acted for whom: acme -> orchestrator is 1 delegation, -> librarian 2
  audit: (e) =>
    console.log(
      `audit: ${e.allowed ? 'allowed' : 'denied '} ${e.cmd} for …${e.caller.did.slice(-6)}, ` +
        `chain of ${e.chain.length} delegation(s)${e.reason ? ` (${e.reason})` : ''}`
    )
})

agent.handle(check, (metadata, ctx) => {
  const problems: string[] = []
  if (metadata.title.trim() === '') problems.push('a document needs a title')
  if (metadata.keywords.length === 0) problems.push('a document needs keywords')
  if (metadata.classification !== 'public' && metadata.keywords.includes('press')) problems.push('press material must be public')
  return { compliant: problems.length === 0, problems, checkedFor: ctx.caller.did ?? ctx.caller.peer }
})

console.log(`compliance agent acme/prod/compliance is up (did …${agent.did.slice(-6)})`)
console.log(JSON.stringify({ ready: true }))

stopOnSignal(() => agent.stop())

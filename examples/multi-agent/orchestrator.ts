// The orchestrator: holds /library and /compliance from acme, and hands the librarian only what it
// needs, the right to have compliance check metadata that is not secret, for five minutes.
import { join } from 'node:path'
import { createAgent, loadTokens, MeshError } from 'agentmesh'
import { didFromPeerId, loadKey } from 'agentmesh/identity'
import { delegate } from 'agentmesh/ucan'
import { check, describe } from './intents.ts'

const [relayAddr, authorityDid, dir] = process.argv.slice(2)
if (relayAddr === undefined || authorityDid === undefined || dir === undefined) {
  throw new Error('usage: orchestrator.ts <relay> <authority-did> <keys-dir>')
}

const key = await loadKey(join(dir, 'orchestrator.key'))
const orchestrator = await createAgent({
  relays: [relayAddr],
  trust: { acme: authorityDid },
  identity: key,
  proofs: await loadTokens(join(dir, 'orchestrator.ucan'))
})

// the librarian's key, from its name: resolved through the relay and verified against acme
const librarian = didFromPeerId((await orchestrator.card('acme/prod/librarian')).peer)
const handOver = await delegate({
  issuer: key,
  audience: librarian,
  subject: authorityDid,
  command: '/compliance/check',
  policy: [['!=', '.classification', 'secret']],
  expiration: Math.floor(Date.now() / 1000) + 300
})
orchestrator.addProofs([handOver]) // sent to the librarian with our next call to it
console.log(`orchestrator …${key.did.slice(-6)} handed the librarian …${librarian.slice(-6)} /compliance/check where classification != 'secret'`)

async function show(title: string, run: () => Promise<unknown>): Promise<void> {
  console.log(title)
  try {
    for (const [field, value] of Object.entries((await run()) as object)) console.log(`    ${field}: ${JSON.stringify(value)}`)
  } catch (err) {
    if (!(err instanceof MeshError)) throw err
    console.log(`    -> ${err.code}: ${err.message}`)
  }
}

await show('1. describe q3-report (internal): the librarian has compliance check it on our behalf', () =>
  orchestrator.call('acme/prod/librarian', describe, { id: 'q3-report' })
)
await show('2. describe launch-plan (secret): the librarian asks compliance beyond what we handed over', () =>
  orchestrator.call('acme/prod/librarian', describe, { id: 'launch-plan' })
)
await show('3. we check the same secret metadata ourselves: we hold /compliance, we handed on less', () =>
  orchestrator.call('acme/prod/compliance', check, {
    id: 'launch-plan',
    title: 'Project Falcon launch',
    classification: 'secret',
    words: 7,
    keywords: ['falcon']
  })
)

await orchestrator.stop()

// The librarian agent: describes documents, and asks the compliance agent to check what it produced,
// on behalf of its caller. It holds no capability of its own for that: ctx.call presents what the
// caller handed over with the call, so the compliance agent sees acme -> orchestrator -> librarian.
import { join } from 'node:path'
import { createAgent, loadTokens, MeshError } from 'agentmesh'
import { loadKey } from 'agentmesh/identity'
import { stopOnSignal } from '../shared/stop-on-signal.ts'
import { check, describe } from './intents.ts'

const [relayAddr, authorityDid, dir] = process.argv.slice(2)
if (relayAddr === undefined || authorityDid === undefined || dir === undefined) {
  throw new Error('usage: librarian.ts <relay> <authority-did> <keys-dir>')
}

const CATALOGUE: Record<string, { title: string; classification: 'public' | 'internal' | 'secret'; text: string }> = {
  'q3-report': { title: 'Q3 results', classification: 'internal', text: 'Revenue grew in every region this quarter' },
  'launch-plan': { title: 'Project Falcon launch', classification: 'secret', text: 'Falcon ships in March to three markets' }
}

const agent = await createAgent({
  name: 'acme/prod/librarian',
  relays: [relayAddr],
  identity: await loadKey(join(dir, 'librarian.key')),
  proofs: await loadTokens(join(dir, 'librarian.ucan')),
  trust: { acme: authorityDid }
})

agent.handle(describe, async ({ id }, ctx) => {
  const doc = CATALOGUE[id]
  if (doc === undefined) throw new MeshError('NOT_FOUND', `no document ${id}`)
  const words = doc.text.split(/\s+/)
  const metadata = {
    id,
    title: doc.title,
    classification: doc.classification,
    words: words.length,
    keywords: words.filter((w) => w.length > 6).map((w) => w.toLowerCase())
  }
  try {
    // on the caller's behalf: the delegation it handed over travels with this call
    return { metadata, compliance: await ctx.call('acme/prod/compliance', check, metadata) }
  } catch (err) {
    if (!(err instanceof MeshError)) throw err
    return { metadata, compliance: { refused: `${err.code}: ${err.message}` } }
  }
})

console.log(`librarian agent acme/prod/librarian is up (did …${agent.did.slice(-6)})`)
console.log(JSON.stringify({ ready: true }))

stopOnSignal(() => agent.stop())

// The orchestrator: asks the VM agent to run command lines, given as argv arrays.
import { join } from 'node:path'
import { createAgent, loadTokens, MeshError } from 'agentmesh'
import { loadKey } from 'agentmesh/identity'

const [relayAddr, authorityDid, dir] = process.argv.slice(2)
if (relayAddr === undefined || authorityDid === undefined || dir === undefined) {
  throw new Error('usage: orchestrator.ts <relay> <authority-did> <keys-dir>')
}

const orchestrator = await createAgent({
  relays: [relayAddr],
  trust: { acme: authorityDid },
  identity: await loadKey(join(dir, 'orchestrator.key')),
  proofs: await loadTokens(join(dir, 'orchestrator.ucan'))
})

async function run(title: string, argv: string[]): Promise<void> {
  console.log(`${title}: ${JSON.stringify(argv)}`)
  try {
    const result = await orchestrator.call<{ stdout: string }>('acme/prod/web-1', '/shell/run', { argv })
    for (const line of result.stdout.trimEnd().split('\n')) console.log(`    | ${line}`)
  } catch (err) {
    if (!(err instanceof MeshError)) throw err
    console.log(`    -> ${err.code}: ${err.message}`)
  }
}

await run('1. allowed by the policy', ['systemctl', 'status', 'nginx'])
await run('2. a verb the policy does not list', ['systemctl', 'stop', 'nginx'])
await run('3. an injection attempt in the unit', ['systemctl', 'status', 'nginx; rm -rf /'])
await run('4. another program altogether', ['rm', '-rf', '/'])
await run("5. allowed by the policy, but not in this VM's allow-list", ['journalctl', '-u', 'nginx'])

await orchestrator.stop()

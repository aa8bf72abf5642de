// An agent on a VM: runs the few commands it allows, when the caller's delegation allows that exact
// command line. Two checks before anything runs: the caller's UCAN chain (the authority's policy on
// argv), then, for the program actually executed, the VM's own allow-list (local policy).
import { join } from 'node:path'
import { createAgent, defineIntent, loadTokens, MeshError } from 'agentmesh'
import { loadKey } from 'agentmesh/identity'
import { z } from 'zod'
import { stopOnSignal } from '../shared/stop-on-signal.ts'
import { PROGRAMS, runProgram } from './exec.ts'

const [relayAddr, authorityDid, dir] = process.argv.slice(2)
if (relayAddr === undefined || authorityDid === undefined || dir === undefined) {
  throw new Error('usage: agent.ts <relay> <authority-did> <keys-dir>')
}

const run = defineIntent({
  cmd: '/shell/run',
  description: 'Run one allowed command, given as argv: ["systemctl", "status", "nginx"]',
  args: z.object({ argv: z.array(z.string().max(256)).min(1).max(8) })
})
const allowed = new Set(Object.values(PROGRAMS))

const agent = await createAgent({
  name: 'acme/prod/web-1',
  relays: [relayAddr],
  identity: await loadKey(join(dir, 'agent.key')),
  proofs: await loadTokens(join(dir, 'agent.ucan')),
  trust: { acme: authorityDid },
  // the VM's own rule, applied after the caller's chain allowed: only programs of the allow-list run
  localPolicy: ({ phase, cmd, args }) => {
    if (phase === 'request') return true
    const program = (args as { program?: unknown }).program
    return (cmd === '/shell/exec' && allowed.has(program as string)) || `${String(program)} is not in this VM's allow-list`
  },
  audit: (e) => console.log(`audit: ${e.allowed ? 'allowed' : 'denied '} ${e.cmd}${e.reason ? ` (${e.reason})` : ''}`)
})

agent.handle(run, async ({ argv }, ctx) => {
  const [name = '', ...args] = argv
  const program = PROGRAMS[name] ?? name // unknown names are refused by the local policy below
  // the derived action, checked against the caller's chain and the local policy: throws when refused
  await ctx.authorize('/shell/exec', { program, argv })
  console.log(`exec ${program} ${JSON.stringify(args)}`)
  const { exitCode, stdout } = await runProgram(program, args)
  if (exitCode !== 0) throw new MeshError('FAILED_PRECONDITION', `${name} exited with ${exitCode}`)
  return { exitCode, stdout }
})

console.log(`agent acme/prod/web-1 is up (peer …${agent.peerId.slice(-8)}), allowing: ${Object.keys(PROGRAMS).join(', ')}`)
console.log(JSON.stringify({ ready: true }))

stopOnSignal(() => agent.stop())

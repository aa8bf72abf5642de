// The operator's step for the bench, written to a temporary folder that the runner removes at exit:
// - an authority (the organisation key of `acme`), which relays and agents trust;
// - a caller key with two delegations of `/bench` (covering /bench/echo and /bench/blob): one link
//   (authority → caller) and a 3-link chain (authority → team → ops → caller), to price the
//   authorization of each call by chain length;
// - a naming right for every named agent (`grantName`, saved with `saveTokens`): relays reserve
//   circuit slots only for agents that prove one, and callers resolve only names rooted in it.
// Calls in the bench therefore take agentmesh's real deny-by-default path: the agent validates the
// caller's UCAN chain on each call (except on the "no UCAN" row, which uses allowAuthenticatedPeers).
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { grantName, saveTokens } from 'agentmesh'
import { generateSigner, saveKey } from 'agentmesh/identity'
import { type Delegation, delegate } from 'agentmesh/ucan'

/** A key and the delegations it holds, as files a party loads with loadKey and loadTokens. */
export interface Credentials {
  keyFile: string
  proofFile: string
}

export interface BenchAuthority {
  /** The authority's did, trusted as organisation `acme` by relays, agents and callers. */
  did: string
  /** The authority's own key file (for the capacity workers, which grant names to their agents). */
  keyFile: string
  /** The caller's key and its 1-link delegation of `/bench`. */
  caller: Credentials
  /** The same caller key with a 3-link delegation chain of `/bench`. */
  callerChain3: Credentials
  /** A fresh agent key with the naming right to `name`. */
  agent(name: string): Promise<Credentials>
  remove(): void
}

const HOURS_6 = 6 * 3600
const expiry = (): number => Math.floor(Date.now() / 1000) + HOURS_6

export async function createBenchAuthority(): Promise<BenchAuthority> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agentmesh-bench-'))
  const authority = generateSigner()
  const caller = generateSigner()
  const team = generateSigner()
  const ops = generateSigner()
  const link = (issuer: typeof authority, audience: string): Promise<Delegation> =>
    delegate({ issuer, audience, subject: authority.did, command: '/bench', expiration: expiry() })
  const direct = await link(authority, caller.did)
  const chain3 = [await link(authority, team.did), await link(team, ops.did), await link(ops, caller.did)]

  const keyFile = path.join(dir, 'authority.key')
  await saveKey(keyFile, authority)
  const callerKey = path.join(dir, 'caller.key')
  await saveKey(callerKey, caller)
  const proof1 = path.join(dir, 'bench-1.ucan')
  await saveTokens(proof1, [direct])
  const proof3 = path.join(dir, 'bench-3.ucan')
  await saveTokens(proof3, chain3)
  let agents = 0
  return {
    did: authority.did,
    keyFile,
    caller: { keyFile: callerKey, proofFile: proof1 },
    callerChain3: { keyFile: callerKey, proofFile: proof3 },
    async agent(name) {
      const key = generateSigner()
      const right = await grantName({ issuer: authority, audience: key.did, name, expiration: expiry() })
      const n = ++agents
      const files = { keyFile: path.join(dir, `agent-${n}.key`), proofFile: path.join(dir, `agent-${n}.ucan`) }
      await saveKey(files.keyFile, key)
      await saveTokens(files.proofFile, [right])
      return files
    },
    remove: () => rmSync(dir, { recursive: true, force: true })
  }
}

import { type Ed25519Signer, generateSigner } from '../../src/identity/index.ts'
import { type Delegation, delegate, type Policy } from '../../src/ucan/index.ts'

export const NOW = 1_767_225_600

export interface Chain {
  /** principals[0] is the root authority; principals[i + 1] receives delegations[i]. */
  principals: Ed25519Signer[]
  delegations: Delegation[]
}

/** A chain root → p1 → … → pn, each link with its own command and policy. */
export async function makeChain(
  links: Array<{
    command: string
    policy?: Policy
    expiration?: number | null
    notBefore?: number
    powerline?: boolean
  }>
): Promise<Chain> {
  const principals = [generateSigner()]
  const delegations: Delegation[] = []
  for (const [i, link] of links.entries()) {
    const issuer = principals[i]!
    const audience = generateSigner()
    principals.push(audience)
    delegations.push(
      await delegate({
        issuer,
        audience: audience.did,
        subject: link.powerline === true ? null : principals[0]!.did,
        command: link.command,
        policy: link.policy ?? [],
        expiration: link.expiration === undefined ? NOW + 3600 : link.expiration,
        ...(link.notBefore === undefined ? {} : { notBefore: link.notBefore })
      })
    )
  }
  return { principals, delegations }
}

import assert from 'node:assert/strict'
import fc from 'fast-check'
import { describe, it } from 'mocha'
import { generateSigner } from '../../src/identity/index.ts'
import { checkChainStructure, ValidatedChain } from '../../src/ucan/chain.ts'
import { commandProves, type Delegation, delegate, type Policy, UcanError } from '../../src/ucan/index.ts'
import { NOW } from './helpers.ts'

const segment = fc.constantFrom('a', 'b', 'ab')
const command = fc.array(segment, { minLength: 0, maxLength: 3 }).map((s) => '/' + s.join('/'))

const leaf: fc.Arbitrary<unknown[]> = fc.oneof(
  fc.tuple(
    fc.constantFrom('==', '!=', '<', '<=', '>', '>='),
    fc.constant('.x'),
    fc.integer({ min: -3, max: 3 })
  ),
  fc.tuple(fc.constant('like'), fc.constant('.y'), fc.constantFrom('*', 'a*', '*b', 'a*b', 'ab', '')),
  fc.tuple(
    fc.constantFrom('any', 'all'),
    fc.constant('.tags'),
    fc.tuple(fc.constant('=='), fc.constant('.'), fc.constantFrom('p', 'q'))
  ),
  fc.tuple(
    fc.constant('=='),
    fc.constantFrom('.z', '.x.w', '.tags[3]', '.tags[3]?'),
    fc.constantFrom(null, 1)
  )
)
const statement: fc.Arbitrary<unknown[]> = fc.oneof(
  leaf,
  leaf.map((s) => ['not', s]),
  fc.tuple(fc.constantFrom('and', 'or'), fc.array(leaf, { maxLength: 3 }))
)
const policy = fc.array(statement, { maxLength: 3 }) as fc.Arbitrary<Policy>

const args = fc.record({
  x: fc.oneof(fc.integer({ min: -4, max: 4 }), fc.constant('4')),
  y: fc.constantFrom('', 'a', 'b', 'ab', 'axb', 'ba'),
  tags: fc.array(fc.constantFrom('p', 'q', 'r'), { maxLength: 4 })
})

/** Each link extends its parent's command by zero or more segments: a chain that validates. */
const links = fc.array(fc.tuple(fc.array(segment, { maxLength: 2 }), policy), { minLength: 1, maxLength: 4 })

async function build(spec: Array<[string[], Policy]>): Promise<Delegation[]> {
  const principals = [generateSigner()]
  const delegations: Delegation[] = []
  let cmd = ''
  for (const [extra, pol] of spec) {
    cmd = cmd + extra.map((s) => '/' + s).join('')
    const audience = generateSigner()
    delegations.push(
      await delegate({
        issuer: principals[principals.length - 1]!,
        audience: audience.did,
        subject: principals[0]!.did,
        command: cmd === '' ? '/' : cmd,
        policy: pol,
        expiration: NOW + 3600
      })
    )
    principals.push(audience)
  }
  return delegations
}

describe('ucan attenuation (fast-check): delegation can only narrow authority', () => {
  it('whatever a child chain allows, its parent chain allows', async () => {
    await fc.assert(
      fc.asyncProperty(
        links,
        fc.array(fc.tuple(command, args), { minLength: 1, maxLength: 15 }),
        async (spec, actions) => {
          const delegations = await build(spec)
          const chains = delegations.map(
            (_, k) => new ValidatedChain(checkChainStructure(delegations.slice(0, k + 1)))
          )
          for (const [cmd, a] of actions) {
            for (let k = 1; k < chains.length; k++) {
              if (chains[k]!.allows(cmd, a, { now: NOW })) {
                assert.ok(
                  chains[k - 1]!.allows(cmd, a, { now: NOW }),
                  `link ${k} allows ${cmd} ${JSON.stringify(a)}`
                )
              }
            }
          }
        }
      ),
      { numRuns: 150 }
    )
  })

  it('a child whose command is not under its parent is refused (InvalidClaim)', async () => {
    await fc.assert(
      fc.asyncProperty(command, command, async (parentCmd, childCmd) => {
        fc.pre(!commandProves(parentCmd, childCmd))
        const root = generateSigner()
        const mid = generateSigner()
        const end = generateSigner()
        const d1 = await delegate({
          issuer: root,
          audience: mid.did,
          subject: root.did,
          command: parentCmd,
          expiration: null
        })
        const d2 = await delegate({
          issuer: mid,
          audience: end.did,
          subject: root.did,
          command: childCmd,
          expiration: null
        })
        assert.throws(
          () => checkChainStructure([d1, d2]),
          (e: unknown) => UcanError.is(e, 'InvalidClaim')
        )
      }),
      { numRuns: 100 }
    )
  })
})

import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const EXAMPLES = ['quickstart', 'database-agent', 'kubernetes-agent', 'multi-agent', 'shell-agent']
const root = fileURLToPath(new URL('../../examples/', import.meta.url))

/** Run `examples/<example>/authority.ts` with `args`, as a template's README says to. */
function operatorStep(example: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=agentmesh-source', 'authority.ts', ...args],
      { cwd: join(root, example), timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr })
    )
  })
}

describe('examples: `node authority.ts <keys-dir>` runs the operator step on its own, as the templates say', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agentmesh-operator-'))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  for (const example of EXAMPLES) {
    it(`${example}: writes the keys (mode 0600, in a 0700 folder) and tokens, and prints the authority did`, async () => {
      const keys = join(dir, example, 'keys')
      const { code, stdout, stderr } = await operatorStep(example, [keys])
      assert.equal(code, 0, stderr)
      assert.match(stdout.trim(), /^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]+$/, 'one line: the did the relay and roles take')
      assert.equal((await stat(keys)).mode & 0o777, 0o700)
      const files = await readdir(keys)
      assert.ok(files.includes('agent.ucan') || files.some((f) => f.endsWith('.ucan')), files.join())
      for (const file of files.filter((f) => f.endsWith('.key'))) {
        assert.equal((await stat(join(keys, file))).mode & 0o077, 0, `${file} is readable by group or others`)
      }
    })
  }

  it('without a folder it prints its usage and exits 2, writing nothing', async () => {
    const { code, stdout, stderr } = await operatorStep('quickstart', [])
    assert.equal(code, 2)
    assert.equal(stdout, '')
    assert.match(stderr, /usage: node authority\.ts <keys-dir>/)
  })
})

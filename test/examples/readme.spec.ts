import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))

describe('README.md', () => {
  it('its code example runs exactly as written: a greeting, then PERMISSION_DENIED for an intent nobody allowed', () => {
    const readme = readFileSync(new URL('README.md', `file://${root}`), 'utf8')
    const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1]
    assert.ok(code !== undefined, 'the README has a ts code block')
    // written inside the repository so that `import 'agentmesh'` resolves to this package
    const file = `${root}examples/.readme-example.ts`
    writeFileSync(file, code)
    try {
      const run = spawnSync(process.execPath, ['--conditions=agentmesh-source', file], {
        cwd: root,
        encoding: 'utf8',
        timeout: 30_000
      })
      assert.equal(run.status, 0, run.stderr)
      assert.deepEqual(run.stdout.trim().split('\n'), ['hello world', 'PERMISSION_DENIED'])
    } finally {
      rmSync(file, { force: true })
    }
  })
})

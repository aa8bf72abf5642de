import assert from 'node:assert/strict'

describe('toolchain', () => {
  it('runs on the Node 24 that the node devDependency installs, not the machine Node 20', () => {
    const major = Number(process.versions.node.split('.')[0])
    assert.equal(major, 24, `tests run on Node ${process.versions.node}`)
  })
})

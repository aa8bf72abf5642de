import assert from 'node:assert/strict'
import { disable, enable } from '@libp2p/logger'
import { quietLogger } from '../../src/net/index.ts'

describe('the quiet component logger', () => {
  // what DEBUG enabled when the suite started, put back after each test
  const saved = process.env.DEBUG
  afterEach(() => {
    disable()
    if (saved !== undefined && saved !== '') enable(saved)
  })

  it('makes libp2p\'s real logger for every name DEBUG enables, and a silent one for the rest', () => {
    enable('agentmesh-test:on*')
    const logger = quietLogger()
    assert.equal(logger.forComponent('agentmesh-test:on').enabled, true)
    assert.equal(logger.forComponent('agentmesh-test:off').enabled, false)
  })

  it('checks each scope of a silent logger again: a connection\'s stream scope can be enabled on its own', () => {
    enable('agentmesh-test:conn:stream*')
    const conn = quietLogger().forComponent('agentmesh-test:conn')
    assert.equal(conn.enabled, false)
    assert.equal(conn.newScope('stream').enabled, true)
    assert.equal(conn.newScope('other').enabled, false)
    // a silent logger takes every call libp2p makes on one, and writes nothing
    conn('x %s', 1)
    conn.error('y')
    conn.trace('z')
  })

  it('keeps error logging: a name enabled only for its errors gets the real logger', () => {
    enable('agentmesh-test:errs:error')
    const log = quietLogger().forComponent('agentmesh-test:errs')
    assert.equal((log.error as unknown as { enabled: boolean }).enabled, true)
  })
})

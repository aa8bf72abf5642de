import assert from 'node:assert/strict'
import { runExample } from '../fixtures/examples.ts'

describe('examples/shell-agent: a VM agent that runs allowed command lines, as argv, never through a shell', () => {
  let output = ''
  let code: number | null

  before(async () => {
    ({ code, output } = await runExample('shell-agent')) // fails here if a process is left behind
  })

  it('exits 0 by itself and leaves no process behind', () => {
    assert.equal(code, 0, output)
  })

  it('runs the allowed command: systemctl status nginx, through the stand-in', () => {
    assert.match(output, /\[agent\] exec \S+\/bin\/systemctl \["status","nginx"\]/)
    assert.match(output, /\[orchestrator\] {5}\| nginx\.service - active \(running\)/)
  })

  it('refuses a verb, an injection and another program with MatchError before the handler runs', () => {
    const answers = output.split('\n').filter((l) => l.startsWith('[orchestrator]     -> '))
    assert.equal(answers.length, 4, output)
    assert.match(answers[0]!, /PERMISSION_DENIED: MatchError/) // systemctl stop nginx
    assert.match(answers[1]!, /PERMISSION_DENIED: MatchError/) // systemctl status 'nginx; rm -rf /'
    assert.match(answers[2]!, /PERMISSION_DENIED: MatchError/) // rm -rf /
  })

  it("refuses a program the delegation allows but the VM's local policy does not", () => {
    assert.match(output, /audit: denied {2}\/shell\/exec \(local policy: journalctl is not in this VM's allow-list\)/)
    assert.match(output, /-> PERMISSION_DENIED: local policy: journalctl is not in this VM's allow-list/)
  })

  it('executed exactly one program over the mesh, and never with a shell', () => {
    const execs = output.split('\n').filter((l) => l.startsWith('[agent] exec '))
    assert.deepEqual(execs.length, 1, 'only systemctl status nginx ran')
    // the injection, run locally through the same function: one argument, the ; never interpreted
    assert.match(output, /received 2 argument\(s\):\n {4}\| {3}\[status\]\n {4}\| {3}\[nginx; rm -rf \/\]/)
  })
})

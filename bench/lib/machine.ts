import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import os from 'node:os'

function version(pkg: string): string | undefined {
  try {
    const url = new URL(`../../node_modules/${pkg}/package.json`, import.meta.url)
    return (JSON.parse(readFileSync(url, 'utf8')) as { version?: string }).version
  } catch {
    return undefined
  }
}

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, {
      cwd: new URL('../..', import.meta.url),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore']
    }).trim()
  } catch {
    return undefined
  }
}

/** What the numbers were measured on. */
export function machine(): Record<string, unknown> {
  const cpus = os.cpus()
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    libp2p: version('libp2p'),
    yamux: version('@chainsafe/libp2p-yamux'),
    noise: version('@chainsafe/libp2p-noise'),
    /** 1-minute load average when the run started: other work on the machine skews the numbers. */
    loadAvgAtStart: Math.round(os.loadavg()[0]! * 100) / 100,
    commit: git(['rev-parse', '--short', 'HEAD']),
    dirty: (git(['status', '--porcelain']) ?? '') !== ''
  }
}

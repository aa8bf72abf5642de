// A network namespace of its own for the parties of one system, so that DCUtR can upgrade a relayed
// connection on one machine. DCUtR dials only addresses it takes for public (`@libp2p/utils`
// isPrivate lists loopback, the RFC 1918 ranges and the IPv4 TEST-NETs as private), so on the
// machine's loopback a relayed connection is never upgraded. The namespace's own loopback carries,
// besides 127.0.0.1, an address from the IPv6 documentation prefix 3fff::/20 (RFC 9637), which
// isPrivate does not list: a caller that announces it can be dialled back directly. Traffic to it
// never leaves the namespace, and the machine's own interfaces are not touched (the first
// `ip netns add` on a machine makes /run/netns a shared mount point, and it stays one).
import { execFileSync } from 'node:child_process'

/** The documentation address the namespace's loopback carries. */
export const NETNS_PUBLIC_IP6 = '3fff:231:99::1'
const PREFIX = 'ambench-'

export interface BenchNetns {
  readonly name: string
  /** Delete the namespace (idempotent); its processes keep it until they exit. */
  remove(): void
}

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Create the namespace `ambench-<pid>` with its loopback up and {@link NETNS_PUBLIC_IP6} on it,
 * after deleting those of earlier runs that died before their cleanup. It is deleted when this
 * process exits. Throws, with the reason, without root or `ip` (iproute2).
 */
export function createBenchNetns(): BenchNetns {
  if (process.getuid?.() !== 0) throw new Error('a network namespace needs root')
  let list: string
  try {
    list = ip('netns', 'list')
  } catch (err) {
    throw new Error(`no usable \`ip\` (iproute2): ${(err as Error).message.split('\n')[0]}`, { cause: err })
  }
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? ''
    const owner = Number(name.slice(PREFIX.length))
    // an owner that is gone, or this process's own pid left by an earlier process that had it
    if (name.startsWith(PREFIX) && Number.isInteger(owner) && (owner === process.pid || !alive(owner))) ip('netns', 'del', name)
  }
  const name = `${PREFIX}${process.pid}`
  let removed = false
  const remove = (): void => {
    if (removed) return
    removed = true
    try {
      ip('netns', 'del', name)
    } catch {
      // gone already
    }
  }
  ip('netns', 'add', name)
  try {
    ip('-n', name, 'link', 'set', 'lo', 'up')
    ip('-n', name, '-6', 'addr', 'add', `${NETNS_PUBLIC_IP6}/128`, 'dev', 'lo', 'nodad')
  } catch (err) {
    remove()
    throw err
  }
  process.once('exit', remove)
  return { name, remove }
}

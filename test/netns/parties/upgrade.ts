// Optional direct-connection upgrade (DCUtR) for the parties.
//   --dcutr <module>      the module to load: `@libp2p/dcutr`, or a path to it while it is not a
//                         dependency of the project (env AGENTMESH_DCUTR_MODULE in the spec), or
//                         `builtin` to rely on the DCUtR service agentmesh itself may run
//   --listen <ma[,…]>     TCP addresses to listen on (a direct address to dial or punch towards)
//   --announce <ma[,…]>   addresses to announce as well: the public address of a host that knows it
//                         (libp2p only advertises a public address once it is verified, by AutoNAT or
//                         by configuration, and identify ignores observed TCP addresses altogether)
import type { Libp2p, ServiceFactoryMap } from 'libp2p'

export interface Upgrade {
  /** libp2p `addresses` to merge into the agent's options. */
  addresses: { listen?: string[]; appendAnnounce?: string[] }
  services: ServiceFactoryMap
  /** Where DCUtR was asked for, if it was. */
  wanted?: string
  /** Why the module could not be loaded. */
  error?: string
}

const list = (value: string | undefined): string[] => (value === undefined || value === '' ? [] : value.split(','))

export async function directUpgrade(args: Map<string, string>): Promise<Upgrade> {
  const listen = list(args.get('listen'))
  const announce = list(args.get('announce'))
  const addresses = {
    ...(listen.length === 0 ? {} : { listen }),
    ...(announce.length === 0 ? {} : { appendAnnounce: announce })
  }
  const module = args.get('dcutr')
  if (module === undefined || module === '') return { addresses, services: {} }
  if (module === 'builtin') return { addresses, services: {}, wanted: 'built into agentmesh' }
  try {
    const loaded = (await import(module)) as { dcutr: () => ServiceFactoryMap[string] }
    return { addresses, services: { dcutr: loaded.dcutr() }, wanted: module }
  } catch (err) {
    return { addresses, services: {}, wanted: module, error: (err as Error).message.split('\n')[0]! }
  }
}

/** What the started node runs, for the test: `enabled (…)` or `unavailable: …`; undefined when not asked. */
export function describeUpgrade(node: Libp2p, upgrade: Upgrade): string | undefined {
  if (upgrade.wanted === undefined) return undefined
  const running = (node.services as Record<string, unknown>).dcutr !== undefined
  if (!running) return `unavailable: ${upgrade.error ?? 'agentmesh runs no DCUtR service'}`
  return `enabled (${upgrade.error === undefined ? upgrade.wanted : `built into agentmesh; ${upgrade.wanted} not loaded`})`
}

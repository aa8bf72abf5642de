// The guest's idle polling: how long an idle vCPU of a KVM guest polls for work before it halts.
// On a VM a halted vCPU is woken by the host (an interrupt, a VM exit, the host scheduling the vCPU's
// thread again), which costs tens of microseconds here, and a relayed or brokered call at concurrency 1
// wakes a sleeping process four times (caller -> relay or broker -> agent -> back; a direct call
// twice), so this one kernel setting moves
// every system's latency at c=1 more than most code changes do. Linux's cpuidle-haltpoll polls up to
// 200 us by default; the machine this project runs on boots with `haltpoll.guest_halt_poll_ns=0`, so its
// idle vCPUs halt at once. The bench reads the setting into the results and, where it can write it
// (root, the module loaded), measures the c=1 latencies a second time with the kernel's default, then
// puts the machine's own value back.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const HALT_POLL_NS = '/sys/module/haltpoll/parameters/guest_halt_poll_ns'
const CPUIDLE = '/sys/devices/system/cpu/cpuidle'
const CPUS = '/sys/devices/system/cpu'
/**
 * The machine's own value while a pass has polling switched on: a run killed then (SIGKILL, a power
 * cut of the VM aside) leaves it behind, and the next run puts that value back before anything else.
 */
const SAVED = path.join(os.tmpdir(), 'agentmesh-bench-guest-halt-poll-ns')

/** cpuidle-haltpoll's own default for `guest_halt_poll_ns` (Documentation/virt/guest-halt-polling.rst). */
export const KERNEL_DEFAULT_HALT_POLL_NS = 200_000

/** The machine's idle policy, as read when the run starts. */
export interface IdlePolicy {
  /** cpuidle driver and governor, e.g. haltpoll and haltpoll. */
  driver?: string
  governor?: string
  /** The longest an idle vCPU polls before it halts, in ns; undefined without cpuidle-haltpoll. */
  haltPollNs?: number
}

const read = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8').trim()
  } catch {
    return undefined
  }
}

export function readIdlePolicy(): IdlePolicy {
  const ns = read(HALT_POLL_NS)
  return {
    driver: read(`${CPUIDLE}/current_driver`),
    governor: read(`${CPUIDLE}/current_governor_ro`) ?? read(`${CPUIDLE}/current_governor`),
    ...(ns === undefined || !/^\d+$/.test(ns) ? {} : { haltPollNs: Number(ns) })
  }
}

/**
 * Microseconds all CPUs have spent in the cpuidle POLL state since boot: vCPU time burnt polling for
 * work instead of halting (counted as idle by the kernel, but not free on the host).
 */
export function pollStateUs(): number {
  let total = 0
  for (const cpu of readdirSync(CPUS).filter((d) => /^cpu\d+$/.test(d))) {
    const dir = `${CPUS}/${cpu}/cpuidle`
    let states: string[]
    try {
      states = readdirSync(dir).filter((d) => d.startsWith('state'))
    } catch {
      continue
    }
    for (const state of states) {
      if (read(`${dir}/${state}/name`) === 'POLL') total += Number(read(`${dir}/${state}/time`) ?? 0)
    }
  }
  return total
}

/** Sets the guest's idle polling for a while, and always puts the machine's own value back. */
export interface HaltPollSwitch {
  /** The machine's own value, in ns, and the value set while switched on. */
  readonly own: number
  readonly on: number
  /** Run `fn` with the polling switched on. */
  during<T>(fn: () => Promise<T>): Promise<T>
}

/**
 * A switch to the kernel's default idle polling, or undefined where it would change nothing (already
 * at the default) or cannot be set (no cpuidle-haltpoll, not root). The machine's value is written
 * back after each use and, should the run be cut short, when the process exits.
 */
export function haltPollSwitch(on = KERNEL_DEFAULT_HALT_POLL_NS): HaltPollSwitch | undefined {
  putBackAfterKilledRun()
  const own = readIdlePolicy().haltPollNs
  if (own === undefined || own === on) return undefined
  try {
    writeFileSync(HALT_POLL_NS, String(own)) // the same value: fails here, not mid-run, when not writable
  } catch {
    return undefined
  }
  let switched = false
  const restore = (): void => {
    if (!switched) return
    switched = false
    try {
      writeFileSync(HALT_POLL_NS, String(own))
      rmSync(SAVED, { force: true })
    } catch (err) {
      // the exit handlers after this one must still run
      console.error(`[bench] could not put guest_halt_poll_ns back to ${own}: ${(err as Error).message}`)
    }
  }
  process.once('exit', restore)
  return {
    own,
    on,
    async during(fn) {
      writeFileSync(SAVED, String(own))
      writeFileSync(HALT_POLL_NS, String(on))
      switched = true
      try {
        return await fn()
      } finally {
        restore()
      }
    }
  }
}

/** A run killed while polling was switched on left the machine's own value behind: put it back. */
function putBackAfterKilledRun(): void {
  const saved = read(SAVED)
  if (saved === undefined) return
  if (/^\d+$/.test(saved)) {
    try {
      writeFileSync(HALT_POLL_NS, saved)
      console.error(`[bench] guest_halt_poll_ns put back to ${saved}, left switched by a run that was killed`)
    } catch {
      return // not ours to set (not root): leave the note for a run that can
    }
  }
  rmSync(SAVED, { force: true })
}

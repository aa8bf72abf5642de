// How the agent runs a program: an executable path and an argv array, never a shell command line.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/**
 * The programs this VM allows, by the name callers use. On a real VM: `systemctl: '/usr/bin/systemctl'`.
 * Here a harmless stand-in (bin/systemctl) prints what it was asked instead of touching systemd.
 */
export const PROGRAMS: Record<string, string> = {
  systemctl: fileURLToPath(new URL('./bin/systemctl', import.meta.url))
}

export interface Ran {
  exitCode: number
  stdout: string
}

/**
 * Run `program` with `args`, each one a single argument whatever it contains: execFile passes them
 * to the program as they are, with no shell to split, expand or chain them (`;`, `|`, `$()` are
 * plain characters here). Bounded in time and output, with a minimal environment.
 */
export function runProgram(program: string, args: string[]): Promise<Ran> {
  return new Promise((resolve, reject) => {
    execFile(
      program,
      args,
      { shell: false, timeout: 10_000, maxBuffer: 64 * 1024, env: { PATH: '/usr/bin:/bin' } },
      (err, stdout) => {
        if (err !== null && typeof err.code !== 'number') reject(err) // could not start, or killed
        else resolve({ exitCode: err === null ? 0 : Number(err.code), stdout })
      }
    )
  })
}

// Run an example's operator step from the command line: `node authority.ts <keys-dir>` creates
// <keys-dir> (mode 0700) if needed, writes the keys and tokens into it and prints the authority's
// did, the <authority-did> the relay and every role take. Imported by each example's authority.ts;
// does nothing when that file is imported rather than run.
import { mkdir } from 'node:fs/promises'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** When `moduleUrl` is the script Node was started with, run `setUp` on the folder named by argv. */
export async function runIfMain(moduleUrl: string, setUp: (dir: string) => Promise<{ authorityDid: string }>): Promise<void> {
  const script = process.argv[1]
  if (script === undefined || resolve(script) !== fileURLToPath(moduleUrl)) return
  const dir = process.argv[2]
  if (dir === undefined) {
    console.error('usage: node authority.ts <keys-dir>   (writes the keys and tokens there, prints the authority did)')
    process.exit(2)
  }
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const { authorityDid } = await setUp(dir)
  console.log(authorityDid)
}

import { chmod, open, rename, stat, unlink } from 'node:fs/promises'
import { privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { MeshError } from '../errors.ts'
import { KEY_FILE_MODE } from './constants.ts'
import { type Ed25519Signer, signerFromPrivateKey } from './signer.ts'

/**
 * Write a private key to `path` in libp2p's protobuf encoding, readable by the owner only (0o600).
 * The file is written next to its destination and renamed into place, so a crash never leaves a
 * half-written key.
 *
 * @example
 * ```ts
 * await saveKey('/var/lib/agent/key', generateSigner())
 * ```
 */
export async function saveKey(path: string, key: Ed25519Signer | PrivateKey): Promise<void> {
  const privateKey = 'toPrivateKey' in key ? key.toPrivateKey() : key
  const bytes = privateKeyToProtobuf(privateKey)
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`
  const handle = await open(tmp, 'wx', KEY_FILE_MODE)
  try {
    await handle.writeFile(bytes)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await chmod(tmp, KEY_FILE_MODE)
    await rename(tmp, path)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
}

/**
 * Read a key written by {@link saveKey}. Refuses (`FAILED_PRECONDITION`) a file that its group or
 * others may read or write, and (`INVALID_ARGUMENT`) anything but an Ed25519 key.
 *
 * @example
 * ```ts
 * const signer = await loadKey('/var/lib/agent/key')
 * signer.did // 'did:key:z6Mk…'
 * ```
 */
export async function loadKey(path: string): Promise<Ed25519Signer> {
  const info = await stat(path)
  if (!info.isFile()) throw new MeshError('INVALID_ARGUMENT', 'key path is not a file')
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
    throw new MeshError('FAILED_PRECONDITION', 'key file is accessible by group or others; chmod 600 it', {
      details: { mode: (info.mode & 0o777).toString(8) }
    })
  }
  const handle = await open(path, 'r')
  let bytes: Uint8Array
  try {
    bytes = await handle.readFile()
  } finally {
    await handle.close()
  }
  let key: PrivateKey
  try {
    key = privateKeyFromProtobuf(bytes)
  } catch (err) {
    throw new MeshError('INVALID_ARGUMENT', 'key file does not hold a libp2p private key', { cause: err })
  }
  return signerFromPrivateKey(key)
}

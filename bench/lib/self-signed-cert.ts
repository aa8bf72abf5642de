// A throw-away TLS certificate for 127.0.0.1, made with the `openssl` CLI into a temporary folder
// for one run: self-signed (so it is its own CA: clients trust exactly this file), subjectAltName
// IP:127.0.0.1, an ECDSA P-256 key, valid one day. The runner removes the folder at the end.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { which } from './nats-server.ts'

const ECDSA_P256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1']
const FOR_LOOPBACK = ['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']

export interface SelfSignedCert {
  /** The certificate (PEM), for the server and as the CA its clients trust. */
  certFile: string
  /** Its private key (PEM), for the server only. */
  keyFile: string
  remove(): void
}

/** A fresh certificate for 127.0.0.1; undefined when there is no openssl. */
export function createSelfSignedCert(): SelfSignedCert | undefined {
  const openssl = which('openssl')
  if (openssl === undefined) return undefined
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agentmesh-bench-tls-'))
  const remove = (): void => rmSync(dir, { recursive: true, force: true })
  const certFile = path.join(dir, 'cert.pem')
  const keyFile = path.join(dir, 'key.pem')
  try {
    const args = ['req', '-x509', '-nodes', '-days', '1', ...ECDSA_P256, ...FOR_LOOPBACK]
    execFileSync(openssl, [...args, '-keyout', keyFile, '-out', certFile], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 30_000
    })
  } catch (err) {
    remove()
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '').trim()
    throw new Error(`openssl could not make a certificate: ${stderr === '' ? (err as Error).message : stderr}`)
  }
  return { certFile, keyFile, remove }
}

import {closeSync, fstatSync, readSync} from 'node:fs'

import {bech32} from '@scure/base'

import {AuditError} from '../errors.js'
import {openRegularSync} from './files.js'
import {IDENTITY_ENV} from './payload.js'

/* age keys: identity files (AGE-SECRET-KEY-1…) and recipients (age1…), checked by their bech32 encoding. */

const MAX_IDENTITY_FILE = 64 * 1024

/** An identity file that cannot be used: a usage error (exit 2) naming the file, never its content. */
export class IdentityFileError extends AuditError {}

/**
 * The age identities (`AGE-SECRET-KEY-1…`) in a file, as age-keygen writes it (comments and blank
 * lines allowed). The file must be readable by its owner only, as ssh insists for private keys:
 * a key others can read is refused, not warned about.
 */
export function loadIdentityFile(path: string): string[] {
  let fd: number
  try {
    fd = openRegularSync(path)
  } catch (error) {
    throw new IdentityFileError(
      `identity file ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
    )
  }
  let text: string
  try {
    const {mode, size} = fstatSync(fd)
    if ((mode & 0o077) !== 0)
      throw new IdentityFileError(
        `identity file ${path}: readable by others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); chmod 600 it`,
      )
    if (size > MAX_IDENTITY_FILE)
      throw new IdentityFileError(`identity file ${path}: over ${MAX_IDENTITY_FILE} bytes; not an age identity file`)
    const buffer = Buffer.alloc(size)
    let done = 0
    while (done < size) {
      const n = readSync(fd, buffer, done, size - done, done)
      if (n === 0) break
      done += n
    }
    text = buffer.subarray(0, done).toString('utf8')
  } finally {
    closeSync(fd)
  }
  const keys: string[] = []
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    if (!/^AGE-SECRET-KEY-1[0-9A-Z]+$/.test(line))
      throw new IdentityFileError(`identity file ${path}:${i + 1}: not an age identity (expected AGE-SECRET-KEY-1…)`)
    try {
      const {prefix, bytes} = bech32.decodeToBytes(line)
      if (prefix.toUpperCase() !== 'AGE-SECRET-KEY-' || bytes.length !== 32) throw new Error('not X25519')
    } catch {
      throw new IdentityFileError(`identity file ${path}:${i + 1}: not a valid age identity (bad encoding or checksum)`)
    }
    keys.push(line)
  }
  if (keys.length === 0) throw new IdentityFileError(`identity file ${path}: holds no age identity (AGE-SECRET-KEY-1…)`)
  return keys
}

/** Readers decrypt with the identities in `path` from now on (and worker threads started later). */
export function useIdentityFile(path: string): void {
  loadIdentityFile(path)
  process.env[IDENTITY_ENV] = path
}

/** True for a valid age X25519 recipient (`age1…`, bech32 with its checksum). */
export function isAgeRecipient(recipient: string): boolean {
  if (!/^age1[02-9ac-hj-np-z]{58}$/.test(recipient)) return false
  try {
    const {prefix, bytes} = bech32.decodeToBytes(recipient)
    return prefix === 'age' && bytes.length === 32
  } catch {
    return false
  }
}

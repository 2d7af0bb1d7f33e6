import {createCipheriv, createDecipheriv, createHmac, randomBytes} from 'node:crypto'
import {isIP} from 'node:net'

import {SEALED_PREFIX, type SealedParts} from './sealed-form.js'

const NONCE_BYTES = 12
const TAG_BYTES = 16
const BLIND_BYTES = 16

/** The text a value's blind index is computed over: strings in NFC (IP addresses lowercased), others as JSON. */
export function normalise(value: unknown): string {
  if (typeof value !== 'string') return JSON.stringify(value)
  const text = value.normalize('NFC')
  return isIP(text) ? text.toLowerCase() : text
}

/** Blind indexes remembered (actors and addresses repeat): at most this many, then forgotten all at once. */
const MAX_REMEMBERED = 10_000

/** blindIndex() with a bounded memory of recent values, for the writer and the readers. */
export function blindIndexer(indexKey: Buffer): (value: unknown) => string {
  const known = new Map<string, string>()
  return (value) => {
    const text = normalise(value)
    let blind = known.get(text)
    if (blind === undefined) {
      if (known.size >= MAX_REMEMBERED) known.clear()
      blind = hmacBlind(indexKey, text)
      known.set(text, blind)
    }
    return blind
  }
}

function hmacBlind(indexKey: Buffer, text: string): string {
  return createHmac('sha256', indexKey).update('auditkit-blind-v1\0').update(text).digest().subarray(0, BLIND_BYTES).toString('base64url')
}

/** A value's blind index under the keystore's index key. */
export function blindIndex(indexKey: Buffer, value: unknown): string {
  return hmacBlind(indexKey, normalise(value))
}

function associatedData(field: string, blind: string, subject: string, event: string): Buffer {
  // NUL-separated: no part can hold a NUL (paths, base64url and event names are restricted), so the parts cannot shift.
  return Buffer.from(`auditkit-priv-v1\0${field}\0${blind}\0${subject}\0${event}`)
}

/** Seals one value of `field` under the subject's key. */
export function sealValue(value: unknown, where: {field: string; event: string; subject: string; key: Buffer; blind: string}): string {
  const nonce = randomBytes(NONCE_BYTES)
  const cipher = createCipheriv('aes-256-gcm', where.key, nonce)
  cipher.setAAD(associatedData(where.field, where.blind, where.subject, where.event))
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()])
  const sealed = Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64url')
  return `${SEALED_PREFIX}${where.blind}:${where.subject}:${sealed}`
}

/** Opens a sealed value of `field`; undefined when it does not authenticate. */
export function openSealed(parts: SealedParts, where: {field: string; event: string; key: Buffer}): {value: unknown} | undefined {
  const data = Buffer.from(parts.sealed, 'base64url')
  if (data.length < NONCE_BYTES + TAG_BYTES) return undefined
  try {
    const decipher = createDecipheriv('aes-256-gcm', where.key, data.subarray(0, NONCE_BYTES))
    decipher.setAAD(associatedData(where.field, parts.blind, parts.subject, where.event))
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES))
    const text = Buffer.concat([decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)), decipher.final()]).toString('utf8')
    return {value: JSON.parse(text)}
  } catch {
    return undefined
  }
}

/** Reads a dotted path (`details.ip`) out of an entry-like object. */
function getPath(object: unknown, path: string): unknown {
  let value: unknown = object
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined
    value = (value as Record<string, unknown>)[key]
  }
  return value
}

/**
 * A copy of `entry` with the value at each path replaced by `replace(value, path)` (paths whose value
 * is absent are left alone; `details` and nested objects are copied along the way, never mutated).
 */
export function replaceFields<T extends object>(entry: T, paths: readonly string[], replace: (value: unknown, path: string) => unknown): T {
  let copy = entry
  for (const path of paths) {
    const keys = path.split('.')
    if (getPath(copy, path) === undefined) continue
    if (copy === entry) copy = {...entry}
    let node = copy as Record<string, unknown>
    for (let i = 0; i < keys.length - 1; i++) {
      node[keys[i]] = {...(node[keys[i]] as Record<string, unknown>)}
      node = node[keys[i]] as Record<string, unknown>
    }
    const last = keys[keys.length - 1]
    node[last] = replace(node[last], path)
  }
  return copy
}

import {createCipheriv, createDecipheriv, createHmac, randomBytes} from 'node:crypto'
import {isIP} from 'node:net'

/**
 * A sealed value as stored in an entry: one string, `priv:v1:<blind>:<subject>:<sealed>`.
 * - blind: the value's blind index, HMAC-SHA256(index key, normalised value), 16 bytes, base64url;
 *   equal values have equal blinds, so filters and summaries match and group without the plaintext.
 * - subject: the blind index of the entry's actor, whose key sealed the value (and names its key file).
 * - sealed: base64url of nonce (12 random bytes) | AES-256-GCM ciphertext of the value's JSON text | tag.
 * The associated data binds the field path, the blind, the subject and the event name, so a sealed
 * value copied to another field, another subject's entry or another event does not open.
 */
export const SEALED_PREFIX = 'priv:v1:'
const SEALED = /^priv:v1:([A-Za-z0-9_-]{22}):([A-Za-z0-9_-]{22}):([A-Za-z0-9_-]{38,})$/
const NONCE_BYTES = 12
const TAG_BYTES = 16
const BLIND_BYTES = 16

/** What readers show for a sealed value whose subject key was destroyed by `audit forget`. */
export const ERASED = '[erased]'
/** What readers show for a sealed value that does not open (altered, or moved from elsewhere). */
export const UNDECRYPTABLE = '[undecryptable]'

export interface SealedParts {
  blind: string
  subject: string
  sealed: string
}

/** The blind index a stored value carries when it is sealed, else undefined (cheap: for filters). */
export function sealedBlind(value: unknown): string | undefined {
  return typeof value === 'string' && value.startsWith(SEALED_PREFIX) && value.charCodeAt(SEALED_PREFIX.length + 22) === 58
    ? value.slice(SEALED_PREFIX.length, SEALED_PREFIX.length + 22)
    : undefined
}

/**
 * What a value is counted and grouped under (summary, analyze): a sealed value by its blind index,
 * `blind:<index>`, so one subject is one group and no aggregate holds more than that; others as they are.
 */
export function groupKey(value: string): string {
  const blind = sealedBlind(value)
  return blind === undefined ? value : `blind:${blind}`
}

/** The parts of a sealed value, or undefined for anything else. */
export function parseSealed(value: unknown): SealedParts | undefined {
  if (typeof value !== 'string' || !value.startsWith(SEALED_PREFIX)) return undefined
  const m = SEALED.exec(value)
  return m ? {blind: m[1], subject: m[2], sealed: m[3]} : undefined
}

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

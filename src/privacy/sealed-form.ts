/*
 * The stored form of a sealed value, read without node:crypto (filters, summaries and the tail
 * start-up path only recognise it; src/privacy/seal.ts seals and opens it).
 */

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

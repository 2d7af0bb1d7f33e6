import {createHmac} from 'node:crypto'
import {isIP} from 'node:net'

import {AuditError} from '../errors.js'
import type {AuditEntry, LocatedEntry} from '../events/model.js'

// GDPR: what leaves the machine can be stripped of personal data; the log itself is never rewritten.

export const REDACTED = '[REDACTED]'

/** Fields the entry model and every format need; they cannot be redacted. */
const REQUIRED = new Set(['timestamp', 'event', 'level', 'chain_hash'])

export interface PrivacyOptions {
  /** Dotted paths (`details.email`, `actor`, `details.*.token`) whose values are replaced. */
  redact?: string[]
  /** HMAC key: every IP address in details and metadata becomes a stable pseudonym. */
  pseudonymizeKey?: string
}

export interface PrivacyCounts {
  redacted: number
  pseudonymized: number
}

/** Checks --redact paths before anything is read. */
export function checkRedactPaths(paths: string[]): void {
  for (const path of paths) {
    const segments = path.split('.')
    if (segments.some((s) => s === '')) throw new AuditError(`--redact "${path}": expected a dotted field path such as details.email`)
    if (REQUIRED.has(segments[0]))
      throw new AuditError(`--redact "${path}": ${segments[0]} is needed by every format and cannot be redacted`)
    if (segments.length > 1 && !['details', 'metadata'].includes(segments[0]))
      throw new AuditError(`--redact "${path}": only actor, details.… and metadata.… hold values to redact`)
  }
}

/**
 * An IP's pseudonym: an IPv6 address in the unique-local range fd00::/8 made from HMAC-SHA256(key, ip),
 * so it stays an IP (ECS source.ip, OCSF endpoints keep their type), is the same for the same
 * address under one key, and cannot be reversed without the key.
 */
export function pseudonymIp(ip: string, key: string): string {
  const digest = createHmac('sha256', key).update(ip).digest()
  const groups = [`fd${digest.toString('hex', 0, 1)}`]
  for (let i = 1; i < 15; i += 2) groups.push(digest.readUInt16BE(i).toString(16))
  return groups.join(':')
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** Makes the transform applied to every entry before it is encoded; counts what it changed. */
export function privacyTransform(options: PrivacyOptions): {apply(located: LocatedEntry): LocatedEntry; counts: PrivacyCounts} | undefined {
  const redact = (options.redact ?? []).map((p) => p.split('.'))
  const key = options.pseudonymizeKey
  if (redact.length === 0 && key === undefined) return undefined
  const counts: PrivacyCounts = {redacted: 0, pseudonymized: 0}
  const cache = new Map<string, string>()

  const pseudonymize = (value: unknown, depth: number): unknown => {
    if (typeof value === 'string') {
      if (isIP(value) === 0) return value
      counts.pseudonymized++
      let pseudonym = cache.get(value)
      if (pseudonym === undefined) {
        pseudonym = pseudonymIp(value, key as string)
        if (cache.size < 100_000) cache.set(value, pseudonym)
      }
      return pseudonym
    }
    // Entries are at most 1 MiB of JSON; the depth bound keeps a hostile nesting off the stack.
    if (depth > 64) return value
    if (Array.isArray(value)) return value.map((v) => pseudonymize(v, depth + 1))
    if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, pseudonymize(v, depth + 1)]))
    return value
  }

  const redactPath = (object: Record<string, unknown>, path: string[]): Record<string, unknown> => {
    const [head, ...rest] = path
    const keys = head === '*' ? Object.keys(object) : Object.hasOwn(object, head) ? [head] : []
    if (keys.length === 0) return object
    const copy = {...object}
    for (const k of keys) {
      if (rest.length === 0) {
        if (copy[k] !== REDACTED) counts.redacted++
        copy[k] = REDACTED
      } else if (isObject(copy[k])) {
        copy[k] = redactPath(copy[k] as Record<string, unknown>, rest)
      }
    }
    return copy
  }

  return {
    counts,
    apply(located) {
      let entry: AuditEntry = located.entry
      if (key !== undefined)
        entry = {
          ...entry,
          details: pseudonymize(entry.details, 0) as Record<string, unknown>,
          metadata: pseudonymize(entry.metadata, 0) as Record<string, unknown>,
        }
      for (const path of redact) entry = redactPath(entry as unknown as Record<string, unknown>, path) as unknown as AuditEntry
      return entry === located.entry ? located : {...located, entry}
    },
  }
}

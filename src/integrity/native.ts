import * as crypto from 'node:crypto'

import type {AuditEntry} from '../events/model.js'

/** The hash the first chained entry chains from. */
export const GENESIS = '0'.repeat(64)

const hashHex: (text: string) => string = typeof (crypto as {hash?: unknown}).hash === 'function'
  ? (text) => crypto.hash('sha256', text, 'hex')
  : (text) => crypto.createHash('sha256').update(text, 'utf8').digest('hex')

/** `hex(sha256(utf8(prev + body)))`, the native chain rule. */
export function chainHash(prev: string, body: string): string {
  return hashHex(prev + body)
}

/** Length of `,"chain_hash":"<64 hex>"`. */
const SUFFIX_LENGTH = 80
const SUFFIX_START = ',"chain_hash":"'
const HEX64 = /^[0-9a-f]{64}$/

/**
 * Splits a chained native line into the body that was hashed and the stored hash, or returns
 * undefined when the line does not end with `,"chain_hash":"<64 hex>"}`.
 */
export function splitChainedLine(line: string): {body: string; hash: string} | undefined {
  const end = line.length - 1
  if (line.charCodeAt(end) !== 125 /* } */ || end < SUFFIX_LENGTH + 1) return undefined
  const start = end - SUFFIX_LENGTH
  if (!line.startsWith(SUFFIX_START, start) || line.charCodeAt(end - 1) !== 34 /* " */) return undefined
  const hash = line.slice(start + SUFFIX_START.length, end - 1)
  if (!HEX64.test(hash)) return undefined
  return {body: `${line.slice(0, start)}}`, hash}
}

/** Serializes an entry body in the canonical member order (without chain_hash). */
export function serializeBody(entry: Omit<AuditEntry, 'chain_hash'>): string {
  return JSON.stringify({
    timestamp: entry.timestamp,
    event: entry.event,
    level: entry.level,
    actor: entry.actor,
    details: entry.details,
    metadata: entry.metadata,
  })
}

/** The full line (without LF) for an entry chained from `prev`, and its hash. */
export function chainLine(body: string, prev: string): {line: string; hash: string} {
  const hash = chainHash(prev, body)
  return {line: `${body.slice(0, -1)},"chain_hash":"${hash}"}`, hash}
}

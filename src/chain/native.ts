import type {AuditEntry} from '../events/model.js'
import {sha256Hex} from './hash.js'

/** The hash the first chained entry chains from. */
export const GENESIS = '0'.repeat(64)

/** `hex(sha256(utf8(prev + body)))`, the native chain rule. */
export function chainHash(prev: string, body: string): string {
  return sha256Hex(prev + body)
}

/** Length of `,"chain_hash":"<64 hex>"`, which ends a chained line before its closing brace. */
export const CHAIN_SUFFIX_LENGTH = 80
const SUFFIX_START = ',"chain_hash":"'
const SUFFIX_CODES = [...SUFFIX_START].map((c) => c.charCodeAt(0))

/**
 * True when the line in `[start, end)` ends with `,"chain_hash":"<64 chars>"}`; the caller checks
 * the 64 are lowercase hex. `code(i)` is the byte (or, for a string, the UTF-16 unit) at `i`: the
 * suffix is ASCII, so counted from the end both agree. One check for text (splitChainedLine) and
 * for the verifier's byte blocks.
 */
export function hasChainSuffix(code: (i: number) => number, start: number, end: number): boolean {
  if (end - start < CHAIN_SUFFIX_LENGTH + 2 || code(end - 1) !== 0x7d /* } */ || code(end - 2) !== 0x22 /* " */) return false
  const at = end - 1 - CHAIN_SUFFIX_LENGTH
  for (let i = 0; i < SUFFIX_CODES.length; i++) if (code(at + i) !== SUFFIX_CODES[i]) return false
  return true
}

/** True when the line ends with `,"chain_hash":"<64 lowercase hex>"}`; checked in place, nothing copied. */
export function endsWithChainHash(line: string): boolean {
  const end = line.length
  if (end < CHAIN_SUFFIX_LENGTH + 2 || line.charCodeAt(end - 1) !== 0x7d /* } */ || line.charCodeAt(end - 2) !== 0x22 /* " */) return false
  const at = end - 1 - CHAIN_SUFFIX_LENGTH
  if (!line.startsWith(SUFFIX_START, at)) return false
  for (let i = at + SUFFIX_START.length; i < end - 2; i++) {
    const c = line.charCodeAt(i)
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false
  }
  return true
}

/**
 * Splits a chained native line into the body that was hashed and the stored hash, or returns
 * undefined when the line does not end with `,"chain_hash":"<64 hex>"}`.
 */
export function splitChainedLine(line: string): {body: string; hash: string} | undefined {
  if (!endsWithChainHash(line)) return undefined
  const start = line.length - 1 - CHAIN_SUFFIX_LENGTH
  return {body: `${line.slice(0, start)}}`, hash: line.slice(start + SUFFIX_START.length, line.length - 2)}
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

import {isLokiShaped, mapLokiEntry} from '../events/lokimode.js'
import {type AuditEntry, checkEntry, parseTimestamp, type Profile} from '../events/model.js'
import {splitChainedLine} from '../chain/native.js'
import type {ProblemKind} from './diagnostics.js'

export type Decoded = {ok: true; entry: AuditEntry; time: number; profile: Profile} | {ok: false; kind: ProblemKind; reason: string}

function firstLineOf(message: string): string {
  return message.split('\n', 1)[0]
}

/**
 * Parses one line into the native model. `profile` forces a reading; otherwise the content
 * decides (a loki-mode entry has `action` and `resource_type` and no `event`).
 */
export function decodeLine(raw: string, profile?: Profile): Decoded {
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch (error) {
    return {ok: false, kind: 'malformed', reason: firstLineOf((error as Error).message)}
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {ok: false, kind: 'not-object', reason: `a JSON ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value}`}
  }
  const object = value as Record<string, unknown>
  const asLoki = profile === 'loki' || (profile === undefined && isLokiShaped(object))
  if (asLoki) {
    const mapped = mapLokiEntry(object)
    if (typeof mapped === 'string') return {ok: false, kind: 'invalid', reason: mapped}
    const time = parseTimestamp(mapped.timestamp)
    if (Number.isNaN(time)) return {ok: false, kind: 'invalid', reason: 'timestamp: not an RFC 3339 timestamp'}
    return {ok: true, entry: mapped, time, profile: 'loki'}
  }
  const checked = checkEntry(object)
  if (typeof checked === 'string') return {ok: false, kind: 'invalid', reason: checked}
  // verify reads a native line as chained only when chain_hash is its last member; one placed
  // elsewhere makes the line a fragment to verify, so no reader may show it as an entry.
  if (checked.entry.chain_hash !== undefined && !splitChainedLine(raw.trim()))
    return {ok: false, kind: 'malformed', reason: 'chain_hash is not the last member: a fragment to verify, not an entry'}
  return {ok: true, entry: checked.entry, time: checked.time, profile: 'native'}
}

/**
 * The timestamp of a native line written in canonical member order, read without parsing,
 * or NaN when the line does not start that way.
 */
export function peekNativeTime(raw: string): number {
  if (!raw.startsWith('{"timestamp":"')) return Number.NaN
  const end = raw.indexOf('"', 14)
  return end < 0 ? Number.NaN : parseTimestamp(raw.slice(14, end))
}

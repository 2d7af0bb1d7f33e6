import {isLokiShaped, mapLokiEntry} from '../events/lokimode.js'
import {type AuditEntry, type CanonicalLine, checkEntry, type Level, parseTimestamp, type Profile} from '../events/model.js'
import {endsWithChainHash} from '../chain/native.js'
import type {ProblemKind} from './diagnostics.js'

export type Decoded = {ok: true; entry: AuditEntry; time: number; profile: Profile} | {ok: false; kind: ProblemKind; reason: string}

function firstLineOf(message: string): string {
  return message.split('\n', 1)[0]
}

/*
 * The writer's exact form (serializeBody + chainLine): canonical member order, no whitespace, no
 * escapes in the top-level strings, a canonical level and timestamp, a flat `details` and
 * `metadata`, chain_hash (64 lowercase hex) last if present. Such a line is read by position; only
 * its two small objects go through JSON.parse. Every other line goes to the full decoder, so a
 * problem is always found and worded by the same code (test/unit/decode-canonical.test.ts holds the
 * two to the same answers).
 */
/** The characters of a JSON string without escapes or control characters: its text is its value. */
export const CANONICAL_STRING_CHARS = '[^"\\\\\\x00-\\x1f]*'
const STRING = `"${CANONICAL_STRING_CHARS}"`
const NUMBER = '-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?'
const SCALAR = `(?:${STRING}|${NUMBER}|true|false|null)`
/** An object whose members are all strings, numbers, booleans or null. */
export const CANONICAL_FLAT_OBJECT = `\\{(?:${STRING}:${SCALAR}(?:,${STRING}:${SCALAR})*)?\\}`
export const CANONICAL_TIMESTAMP = '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z'
export const CANONICAL_EVENT = '[a-z0-9_-]+(?:\\.[a-z0-9_-]+)+'
const CANONICAL_LINE = new RegExp(
  `^\\{"timestamp":"(${CANONICAL_TIMESTAMP})","event":"(${CANONICAL_EVENT})",` +
    `"level":"(debug|info|warning|error)","actor":"(${CANONICAL_STRING_CHARS})",` +
    `"details":(${CANONICAL_FLAT_OBJECT}),"metadata":(${CANONICAL_FLAT_OBJECT})(?:,"chain_hash":"([0-9a-f]{64})")?\\}$`,
)

/**
 * The members of a native line in the writer's exact form, or undefined for any other line
 * (including one whose timestamp is not a real time): decodeLine reads those.
 */
export function readCanonical(raw: string): CanonicalLine | undefined {
  return canonicalOf(CANONICAL_LINE.exec(raw))
}

/** The members of a match of CANONICAL_LINE (or its in-text form), unless its timestamp is not a real time. */
function canonicalOf(match: RegExpExecArray | null): CanonicalLine | undefined {
  if (match === null) return undefined
  const time = canonicalTime(match[1])
  if (Number.isNaN(time)) return undefined
  return {
    time,
    timestamp: match[1],
    event: match[2],
    level: match[3] as Level,
    actor: match[4],
    details: match[5],
    metadata: match[6],
    chainHash: match[7],
  }
}

/** CANONICAL_LINE for a line inside a longer text: sticky at the line's start, ending at its LF (no member can hold one) or the text's end. */
const CANONICAL_LINE_IN_TEXT = new RegExp(`${CANONICAL_LINE.source.slice(1, -1)}(?=\\n|$)`, 'y')

/**
 * readCanonical of the line of `text` that starts at `start`, without slicing the line out: a
 * reader that decodes many lines at once saves a copy of each. Its members are slices of `text`.
 */
export function readCanonicalAt(text: string, start: number): CanonicalLine | undefined {
  CANONICAL_LINE_IN_TEXT.lastIndex = start
  return canonicalOf(CANONICAL_LINE_IN_TEXT.exec(text))
}

/** The members readCanonicalHeadAt reads: all but metadata and chain_hash. */
export type CanonicalHead = Pick<CanonicalLine, 'time' | 'event' | 'level' | 'actor' | 'details'>

/**
 * CANONICAL_LINE_IN_TEXT with groups for event, actor and details only, and its chain hash as any 64
 * characters but `"`: the hex class alone cost irregexp twice the rest of the line (its digit or
 * letter branch mispredicts on every character of a hash), so readCanonicalHeadAt checks it by table.
 */
const CANONICAL_HEAD_IN_TEXT = new RegExp(
  `\\{"timestamp":"${CANONICAL_TIMESTAMP}","event":"(${CANONICAL_EVENT})",` +
    `"level":"(?:debug|info|warning|error)","actor":"(${CANONICAL_STRING_CHARS})",` +
    `"details":(${CANONICAL_FLAT_OBJECT}),"metadata":${CANONICAL_FLAT_OBJECT}(?:,"chain_hash":"[^"]{64}")?\\}(?=\\n|$)`,
  'y',
)
/** Characters that are not lowercase hex, below `g`. */
const NOT_HEX = Uint8Array.from({length: 0x67}, (_, c) => ((c >= 0x30 && c <= 0x39) || c >= 0x61 ? 0 : 1))
/** The level of a canonical line by its first letter. */
const LEVEL_BY_INITIAL: Record<string, Level> = {d: 'debug', i: 'info', w: 'warning', e: 'error'}

/**
 * readCanonicalAt's answer for the same line, without the members a reader of what happened does
 * not use (metadata, chain_hash, the timestamp's text): fewer strings made per line.
 */
export function readCanonicalHeadAt(text: string, start: number): CanonicalHead | undefined {
  CANONICAL_HEAD_IN_TEXT.lastIndex = start
  const match = CANONICAL_HEAD_IN_TEXT.exec(text)
  if (match === null) return undefined
  const end = CANONICAL_HEAD_IN_TEXT.lastIndex
  // With a chain hash the line ends `"}`; without one, metadata's `}}`.
  if (text.charCodeAt(end - 2) === 0x22)
    for (let i = end - 66; i < end - 2; i++) {
      const c = text.charCodeAt(i)
      if (c > 0x66 || NOT_HEX[c] === 1) return undefined
    }
  // `{"timestamp":"` is 14 characters, the timestamp 24, `","event":"` 11 and `","level":"` 11.
  const time = canonicalTime(text.slice(start + 14, start + 38))
  if (Number.isNaN(time)) return undefined
  const event = match[1]
  return {time, event, level: LEVEL_BY_INITIAL[text[start + 60 + event.length]], actor: match[2], details: match[3]}
}

/** The day (`YYYY-MM-DDT`) of the last canonical timestamp read, and its start: a log's lines mostly share it. */
let lastDay = ''
let lastDayStart = Number.NaN

/** parseTimestamp for a timestamp of the canonical pattern (all digits where digits go), with the day's start remembered. */
function canonicalTime(timestamp: string): number {
  if (lastDay === '' || !timestamp.startsWith(lastDay)) {
    lastDay = timestamp.slice(0, 11)
    lastDayStart = parseTimestamp(`${lastDay}00:00:00.000Z`)
  }
  const hour = twoDigits(timestamp, 11)
  const minute = twoDigits(timestamp, 14)
  const second = twoDigits(timestamp, 17)
  if (hour > 23 || minute > 59 || second > 59) return Number.NaN
  return lastDayStart + ((hour * 60 + minute) * 60 + second) * 1000 + twoDigits(timestamp, 20) * 10 + timestamp.charCodeAt(22) - 48
}

const twoDigits = (text: string, at: number): number => (text.charCodeAt(at) - 48) * 10 + text.charCodeAt(at + 1) - 48

/**
 * Parses one line into the native model. `profile` forces a reading; otherwise the content
 * decides (a loki-mode entry has `action` and `resource_type` and no `event`).
 */
export function decodeLine(raw: string, profile?: Profile): Decoded {
  if (profile !== 'loki') {
    const line = readCanonical(raw)
    if (line !== undefined) {
      const {timestamp, event, level, actor} = line
      const entry: AuditEntry = {timestamp, event, level, actor, details: JSON.parse(line.details), metadata: JSON.parse(line.metadata)}
      if (line.chainHash !== undefined) entry.chain_hash = line.chainHash
      return {ok: true, entry, time: line.time, profile: 'native'}
    }
  }
  return decodeAnyLine(raw, profile)
}

/** The full decoder: any line, every problem found and worded (decodeLine without its fast path). */
export function decodeAnyLine(raw: string, profile?: Profile): Decoded {
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
  if (checked.entry.chain_hash !== undefined && !endsWithChainHash(raw.trim()))
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

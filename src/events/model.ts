/** Severity levels in ascending order. */
/** Longest line accepted; a longer one is reported and skipped (and never written). */
export const MAX_LINE_BYTES = 1024 * 1024

export const LEVELS = ['debug', 'info', 'warning', 'error'] as const
export type Level = (typeof LEVELS)[number]

const LEVEL_ALIASES: Record<string, Level> = {
  debug: 'debug',
  info: 'info',
  warning: 'warning',
  warn: 'warning',
  error: 'error',
  err: 'error',
}

/** Accepts the canonical names and the `warn`/`err` spellings, case-insensitively. */
export function parseLevel(value: string): Level | undefined {
  return LEVEL_ALIASES[value.toLowerCase()]
}

export function levelRank(level: Level): number {
  return LEVELS.indexOf(level)
}

/** `category.action[.more]`, lowercase segments of `[a-z0-9_-]`. */
export const EVENT_NAME = /^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/
/** Longest event name written: room for a few descriptive segments, not for a payload in the name. */
export const MAX_EVENT_LENGTH = 128

/** RFC 3339 date-time with an explicit offset (`Z` or `±hh:mm`). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/

/**
 * Epoch ms of an RFC 3339 timestamp, or NaN. The form every native writer uses,
 * `YYYY-MM-DDTHH:MM:SS.mmmZ`, is read directly; others go through the regex and Date.parse.
 */
export function parseTimestamp(text: string): number {
  if (text.length === 24 && text.charCodeAt(23) === 90 /* Z */) {
    const year = digits(text, 0, 4)
    const month = digits(text, 5, 2)
    const day = digits(text, 8, 2)
    const hour = digits(text, 11, 2)
    const minute = digits(text, 14, 2)
    const second = digits(text, 17, 2)
    const ms = digits(text, 20, 3)
    if (
      text.charCodeAt(4) !== 45 ||
      text.charCodeAt(7) !== 45 ||
      text.charCodeAt(10) !== 84 ||
      text.charCodeAt(13) !== 58 ||
      text.charCodeAt(16) !== 58 ||
      text.charCodeAt(19) !== 46 ||
      (year | month | day | hour | minute | second | ms) < 0 ||
      month < 1 ||
      month > 12 ||
      day < 1 ||
      day > daysInMonth(year, month) ||
      hour > 23 ||
      minute > 59 ||
      second > 59
    ) {
      return Number.NaN
    }
    return Date.UTC(year, month - 1, day, hour, minute, second, ms)
  }
  if (!RFC3339.test(text)) return Number.NaN
  // Date.parse takes 2026-02-30 (as March 2) and 24:00; a calendar check rejects them.
  const year = digits(text, 0, 4)
  const month = digits(text, 5, 2)
  if (month < 1 || month > 12 || digits(text, 8, 2) > daysInMonth(year, month) || digits(text, 11, 2) > 23) return Number.NaN
  return Date.parse(text)
}

/** The decimal number in text[at, at+count), or -1 when a character is not a digit. */
function digits(text: string, at: number, count: number): number {
  let n = 0
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 48
    if (d < 0 || d > 9) return -1
    n = n * 10 + d
  }
  return n
}

function daysInMonth(year: number, month: number): number {
  return month === 2
    ? (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
      ? 29
      : 28
    : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/**
 * Checks a parsed line against the native entry model and returns the entry (level normalised,
 * details/metadata defaulting to {}) with its time in epoch ms, or a short reason. Hand-written rather than a zod schema
 * because it runs once per line on million-line logs, where zod cost more than JSON.parse itself.
 */
export function checkEntry(object: Record<string, unknown>): {entry: AuditEntry; time: number} | string {
  const {timestamp, event, level, actor, details, metadata, chain_hash: chainHash} = object
  if (typeof timestamp !== 'string') return 'timestamp: missing or not a string'
  const time = parseTimestamp(timestamp)
  if (Number.isNaN(time)) return 'timestamp: not an RFC 3339 timestamp'
  if (typeof event !== 'string') return 'event: missing or not a string'
  if (!EVENT_NAME.test(event)) return 'event: not a category.action event name'
  if (typeof level !== 'string') return 'level: missing or not a string'
  const normalised = parseLevel(level)
  if (!normalised) return `level: unknown level "${level}"`
  if (typeof actor !== 'string') return 'actor: missing or not a string'
  if (details !== undefined && !isObject(details)) return 'details: not an object'
  if (metadata !== undefined && !isObject(metadata)) return 'metadata: not an object'
  // Its hex digits are the verifier's business; reading only needs to tell it is a hash.
  if (chainHash !== undefined && (typeof chainHash !== 'string' || chainHash.length !== 64)) return 'chain_hash: not a 64-character hash'
  const entry: AuditEntry = {timestamp, event, level: normalised, actor, details: details ?? {}, metadata: metadata ?? {}}
  if (chainHash !== undefined) entry.chain_hash = chainHash
  return {entry, time}
}

/**
 * A line in the writer's exact form (store/decode's canonical matcher), its members read by position:
 * its strings hold no `"`, `\` or control characters, and `details` and `metadata` are as written
 * (flat objects: no escapes, no nesting). The codecs write records straight from it (formats/record-bytes.ts).
 */
export interface CanonicalLine {
  time: number
  timestamp: string
  event: string
  level: Level
  actor: string
  details: string
  metadata: string
  chainHash: string | undefined
}

export interface AuditEntry {
  timestamp: string
  event: string
  level: Level
  actor: string
  details: Record<string, unknown>
  metadata: Record<string, unknown>
  chain_hash?: string
}

/** Which writer's format a file is in: auditkit's own, or the loki dashboard's. */
export const PROFILES = ['native', 'loki'] as const
export type Profile = (typeof PROFILES)[number]

/** An entry with where it came from, so every message can point at the exact line. */
export interface LocatedEntry {
  entry: AuditEntry
  /** Milliseconds since the epoch, from `entry.timestamp`. */
  time: number
  /** The file's path and 1-based physical line number. */
  file: string
  line: number
  /** The line as it is on disk (without the LF). */
  raw: string
  profile: Profile
}

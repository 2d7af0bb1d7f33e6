import {type CanonicalLine, type Level, parseTimestamp} from '../events/model.js'
import {CanonicalBytes} from '../store/canonical-bytes.js'
import {CANONICAL_EVENT, CANONICAL_FLAT_OBJECT, CANONICAL_STRING_CHARS, CANONICAL_TIMESTAMP} from '../store/decode.js'
import {IP_FIELDS, ownCopy} from './aggregate.js'

/*
 * The lean decoder: reads a native line by position when it is in the exact form the writer
 * produces (serializeBody + chainLine: canonical member order, no whitespace, no escapes, a flat
 * `details` and `metadata`, a canonical level and timestamp). Anything else is left to the full
 * decoder (decodeLine), so every problem is found and reported by the same code as before. The
 * differential test (test/unit/summary-scan.test.ts) holds the two to the same answers.
 */

// The pieces of the writer's exact form are store/decode's; the summary captures fewer members.
const CANONICAL =
  `\\{"timestamp":"(${CANONICAL_TIMESTAMP})","event":"(${CANONICAL_EVENT})","level":"(debug|info|warning|error)",` +
  `"actor":"(${CANONICAL_STRING_CHARS})","details":(${CANONICAL_FLAT_OBJECT}),"metadata":${CANONICAL_FLAT_OBJECT}` +
  `(?:,"chain_hash":"[0-9a-f]{64}")?\\}`

/** One whole line (without its LF). */
export const CANONICAL_LINE = new RegExp(`^${CANONICAL}$`)

/** The summary's fields of a canonical line: groups 1–5 of a CANONICAL match; `details` is the object's text, as written. */
export type LeanFields = Pick<CanonicalLine, 'time' | 'timestamp' | 'event' | 'level' | 'actor' | 'details'>

/** The hour the last timestamp read fell in: a log's lines come in time order, many to an hour. */
let lastHour = {text: '', start: Number.NaN}

/**
 * parseTimestamp() of a TIMESTAMP match (digits and separators already checked): the date and hour
 * are read once per hour of log, the minutes, seconds and milliseconds added.
 */
export function canonicalTime(timestamp: string): number {
  let hour = lastHour
  if (!timestamp.startsWith(hour.text) || hour.text === '') {
    const text = timestamp.slice(0, 13)
    hour = lastHour = {text: ownCopy(text), start: parseTimestamp(`${text}:00:00.000Z`)}
  }
  const minute = digitPair(timestamp, 14)
  const second = digitPair(timestamp, 17)
  if (minute > 59 || second > 59) return Number.NaN
  const ms = (timestamp.charCodeAt(20) - 48) * 100 + (timestamp.charCodeAt(21) - 48) * 10 + timestamp.charCodeAt(22) - 48
  return hour.start + minute * 60_000 + second * 1000 + ms
}

function digitPair(text: string, at: number): number {
  return (text.charCodeAt(at) - 48) * 10 + text.charCodeAt(at + 1) - 48
}

/** The fields of a match of CANONICAL_LINE, or undefined when its timestamp is not a real time (the full decoder reports it). */
export function leanFields(match: RegExpExecArray): LeanFields | undefined {
  const time = canonicalTime(match[1])
  if (Number.isNaN(time)) return undefined
  return {time, timestamp: match[1], event: match[2], level: match[3] as Level, actor: match[4], details: match[5]}
}

/** The members of a flat `details` that a summary counts; `"name":` in a flat object can only be a key. */
const COUNTED_FIELDS = [...IP_FIELDS, 'model']
const COUNTED_MEMBER = new RegExp(`"(${COUNTED_FIELDS.join('|')})":(?:"([^"]*)"|)`, 'g')
const FIELD_INDEX = new Map(COUNTED_FIELDS.map((field, index) => [field, index]))
const MODEL_INDEX = IP_FIELDS.length
/** Every counted name holds one of these: a `details` without any has nothing to count. */
const COUNTED_PARTS = ['ip', 'addr', 'model']
/** The values of the counted members of the `details` being read, by FIELD_INDEX. */
const values: Array<string | undefined> = []

/**
 * The IP-address and model values of a flat `details` text, as JSON.parse would give them: the last
 * of duplicate members wins, and only string values count.
 */
export function countedDetails(details: string): {ips: string[]; model: string | undefined} | undefined {
  if (details.length === 2 || !COUNTED_PARTS.some((part) => details.includes(part))) return undefined
  let found = false
  values.length = 0
  values.length = COUNTED_FIELDS.length
  COUNTED_MEMBER.lastIndex = 0
  for (let m = COUNTED_MEMBER.exec(details); m !== null; m = COUNTED_MEMBER.exec(details)) {
    found = true
    values[FIELD_INDEX.get(m[1])!] = m[2]
  }
  if (!found) return undefined
  const ips: string[] = []
  for (let i = 0; i < MODEL_INDEX; i++) {
    const ip = values[i]
    if (ip !== undefined && ip !== '') ips.push(ip)
  }
  return {ips, model: values[MODEL_INDEX]}
}

/** The summary's byte matcher (store/canonical-bytes.ts), noting the counted `details` members by FIELD_INDEX. */
export const bytesLine = new CanonicalBytes(COUNTED_FIELDS)
/** Index of `model` in bytesLine.counted*; the IP fields come before it. */
export const COUNTED_MODEL = MODEL_INDEX

/** bytesLine.match: where the line at `pos` of `buf` ends if it is canonical (its members noted in bytesLine), else -1. */
export function matchCanonicalBytes(buf: Buffer, pos: number): number {
  return bytesLine.match(buf, pos)
}

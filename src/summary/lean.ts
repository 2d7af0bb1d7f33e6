import {type Level, LEVELS, parseTimestamp} from '../events/model.js'
import {CANONICAL_EVENT, CANONICAL_FLAT_OBJECT, CANONICAL_STRING_CHARS, CANONICAL_TIMESTAMP, type CanonicalLine} from '../store/decode.js'
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

/*
 * The same canonical form, matched on the raw bytes of a block of valid UTF-8 (the summary scan):
 * no regex, no strings. A string's characters `[^"\\\x00-\x1f]` are, in UTF-8, the bytes other
 * than `"`, `\` and 0x00–0x1f (a multi-byte character's bytes are all 0x80 or above). Every other
 * part is ASCII and has one way to match, so a left-to-right pass decides what the regex decides;
 * test/unit/summary-scan.test.ts holds the two (and the full decoder) to the same answers. The
 * buffer ends with an LF, which no part of the form takes: every loop stops at it.
 */

const QUOTE = 0x22
const COMMA = 0x2c
const COLON = 0x3a
const OPEN = 0x7b
const CLOSE = 0x7d
const LF = 0x0a
const MINUS = 0x2d
const PLUS = 0x2b
const DOT = 0x2e
const ZERO = 0x30

/** Byte classes, as bits of CLASS. */
const STRING_CHAR = 1
const DIGIT = 2
const HEX = 4
const EVENT_CHAR = 8
const CLASS = new Uint8Array(256)
for (let b = 0; b < 256; b++) {
  const c = String.fromCharCode(b)
  if (b >= 0x20 && c !== '"' && c !== '\\') CLASS[b] |= STRING_CHAR
  if (/[0-9]/.test(c)) CLASS[b] |= DIGIT
  if (/[0-9a-f]/.test(c)) CLASS[b] |= HEX
  if (/[a-z0-9_-]/.test(c)) CLASS[b] |= EVENT_CHAR
}

const ascii = (text: string) => Buffer.from(text, 'latin1')
/** Where START wants a digit. */
const ANY_DIGIT = -1
/** A line's fixed start: `{"timestamp":"`, the timestamp's shape, `","event":"`. */
const START = Int16Array.from([
  ...ascii('{"timestamp":"'),
  ...[...'dddd-dd-ddTdd:dd:dd.dddZ'].map((c) => (c === 'd' ? ANY_DIGIT : c.charCodeAt(0))),
  ...ascii('","event":"'),
])
const TIMESTAMP_AT = '{"timestamp":"'.length
/** `YYYY-MM-DDTHH`: the part of a timestamp that names its hour. */
const HOUR_BYTES = 13
const AFTER_EVENT = ascii('","level":"')
/** The canonical level names, each with the member separator after it, by their index in LEVELS. */
const LEVEL_TAILS = LEVELS.map((level) => ascii(`${level}","actor":"`))
const AFTER_ACTOR = ascii('","details":')
const AFTER_DETAILS = ascii(',"metadata":')
const CHAIN_HASH = ascii(',"chain_hash":"')
const HASH_HEX = 64
const TRUE = ascii('true')
const FALSE = ascii('false')
const NULL = ascii('null')
/** The counted names by their byte length, as FIELD_INDEX indexes. */
const COUNTED_BY_LENGTH: Array<Array<{index: number; bytes: Buffer}>> = []
for (const [index, field] of COUNTED_FIELDS.entries()) (COUNTED_BY_LENGTH[field.length] ??= []).push({index, bytes: ascii(field)})

/**
 * The line matchCanonicalBytes last matched, by byte offsets into its buffer. `counted*` hold, by
 * FIELD_INDEX, the start and end of each counted `details` member's string value (the last of
 * duplicates, as JSON.parse keeps), start -1 when absent or not a string.
 */
export const bytesLine = {
  time: 0,
  timestampStart: 0,
  eventStart: 0,
  eventEnd: 0,
  /** Index in LEVELS. */
  level: 0,
  actorStart: 0,
  actorEnd: 0,
  countedStart: new Int32Array(COUNTED_FIELDS.length),
  countedEnd: new Int32Array(COUNTED_FIELDS.length),
}
/** Index of `model` in bytesLine.counted*; the IP fields come before it. */
export const COUNTED_MODEL = MODEL_INDEX

/**
 * Matches the line starting at `pos` of `buf` (whole lines: its last byte is an LF) against the
 * canonical form with its LF, and fills bytesLine; returns where the next line starts, or -1 when
 * the line is not canonical or its timestamp not a real time (the full decoder reads it then).
 */
export function matchCanonicalBytes(buf: Buffer, pos: number): number {
  const line = bytesLine
  for (let i = 0; i < START.length; i++) {
    const want = START[i]
    const b = buf[pos + i]
    if (want === ANY_DIGIT ? (CLASS[b] & DIGIT) === 0 : b !== want) return -1
  }
  let p = pos + START.length
  line.eventStart = p
  p = eventEnd(buf, p)
  if (p < 0) return -1
  line.eventEnd = p
  p = literal(buf, p, AFTER_EVENT)
  if (p < 0) return -1
  const level = levelIndex(buf[p])
  if (level < 0) return -1
  line.level = level
  p = literal(buf, p, LEVEL_TAILS[level])
  if (p < 0) return -1
  line.actorStart = p
  p = stringEnd(buf, p)
  if (buf[p] !== QUOTE) return -1
  line.actorEnd = p
  p = literal(buf, p, AFTER_ACTOR)
  if (p < 0) return -1
  const {countedStart} = line
  for (let i = 0; i < countedStart.length; i++) countedStart[i] = -1
  p = flatObjectEnd(buf, p, true)
  if (p < 0) return -1
  p = literal(buf, p, AFTER_DETAILS)
  if (p < 0) return -1
  p = flatObjectEnd(buf, p, false)
  if (p < 0) return -1
  if (buf[p] === COMMA) {
    p = literal(buf, p, CHAIN_HASH)
    if (p < 0) return -1
    for (const hashEnd = p + HASH_HEX; p < hashEnd; p++) if ((CLASS[buf[p]] & HEX) === 0) return -1
    if (buf[p] !== QUOTE) return -1
    p++
  }
  if (buf[p] !== CLOSE || buf[p + 1] !== LF) return -1
  line.timestampStart = pos + TIMESTAMP_AT
  line.time = timeAt(buf, line.timestampStart)
  return Number.isNaN(line.time) ? -1 : p + 2
}

function levelIndex(b: number): number {
  switch (b) {
    case 0x64: // d
      return 0
    case 0x69: // i
      return 1
    case 0x77: // w
      return 2
    case 0x65: // e
      return 3
    default:
      return -1
  }
}

function literal(buf: Buffer, p: number, bytes: Buffer): number {
  for (let i = 0; i < bytes.length; i++) if (buf[p + i] !== bytes[i]) return -1
  return p + bytes.length
}

/** The first byte from `p` that is not a string character: the closing quote, if the string is canonical. */
function stringEnd(buf: Buffer, p: number): number {
  while ((CLASS[buf[p]] & STRING_CHAR) !== 0) p++
  return p
}

/** `[a-z0-9_-]+(?:\.[a-z0-9_-]+)+` up to its closing quote, or -1. */
function eventEnd(buf: Buffer, p: number): number {
  let segment = p
  let dots = 0
  for (; ; p++) {
    const b = buf[p]
    if ((CLASS[b] & EVENT_CHAR) !== 0) continue
    if (p === segment) return -1
    if (b !== DOT) return b === QUOTE && dots > 0 ? p : -1
    segment = p + 1
    dots++
  }
}

function digitsEnd(buf: Buffer, p: number): number {
  while ((CLASS[buf[p]] & DIGIT) !== 0) p++
  return p
}

/** `-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?`; a part begun and not finished fails, as the regex would at the `,` or `}` after. */
function numberEnd(buf: Buffer, p: number): number {
  if (buf[p] === MINUS) p++
  if ((CLASS[buf[p]] & DIGIT) === 0) return -1
  p = buf[p] === ZERO ? p + 1 : digitsEnd(buf, p + 1)
  if (buf[p] === DOT) {
    const digits = p + 1
    p = digitsEnd(buf, digits)
    if (p === digits) return -1
  }
  if (buf[p] === 0x65 || buf[p] === 0x45) {
    p++
    if (buf[p] === PLUS || buf[p] === MINUS) p++
    const digits = p
    p = digitsEnd(buf, digits)
    if (p === digits) return -1
  }
  return p
}

/** The FIELD_INDEX of the key in [start, end), or -1. */
function countedField(buf: Buffer, start: number, end: number): number {
  const candidates = COUNTED_BY_LENGTH[end - start]
  if (candidates === undefined) return -1
  for (const {index, bytes} of candidates) if (literal(buf, start, bytes) === end) return index
  return -1
}

/** A flat object (CANONICAL_FLAT_OBJECT) from `p`; where it ends, or -1. `count`: note the counted members. */
function flatObjectEnd(buf: Buffer, p: number, count: boolean): number {
  if (buf[p] !== OPEN) return -1
  p++
  if (buf[p] === CLOSE) return p + 1
  for (;;) {
    if (buf[p] !== QUOTE) return -1
    const keyStart = p + 1
    const keyEnd = stringEnd(buf, keyStart)
    if (buf[keyEnd] !== QUOTE || buf[keyEnd + 1] !== COLON) return -1
    const field = count ? countedField(buf, keyStart, keyEnd) : -1
    p = keyEnd + 2
    const b = buf[p]
    if (b === QUOTE) {
      const valueEnd = stringEnd(buf, p + 1)
      if (buf[valueEnd] !== QUOTE) return -1
      if (field >= 0) {
        bytesLine.countedStart[field] = p + 1
        bytesLine.countedEnd[field] = valueEnd
      }
      p = valueEnd + 1
    } else {
      p = b === 0x74 ? literal(buf, p, TRUE) : b === 0x66 ? literal(buf, p, FALSE) : b === 0x6e ? literal(buf, p, NULL) : numberEnd(buf, p)
      if (p < 0) return -1
      if (field >= 0) bytesLine.countedStart[field] = -1
    }
    if (buf[p] === CLOSE) return p + 1
    if (buf[p] !== COMMA) return -1
    p++
  }
}

/** The hour (its `YYYY-MM-DDTHH` bytes and start) of the last timestamp timeAt read. */
const hourBytes = Buffer.alloc(HOUR_BYTES)
let hourStart = Number.NaN
let hourRead = false

/** canonicalTime() of the timestamp (digits and separators checked) at `p`. */
function timeAt(buf: Buffer, p: number): number {
  let same = hourRead
  for (let i = 0; same && i < HOUR_BYTES; i++) same = buf[p + i] === hourBytes[i]
  if (!same) {
    hourBytes.set(buf.subarray(p, p + HOUR_BYTES))
    hourStart = parseTimestamp(`${hourBytes.toString('latin1')}:00:00.000Z`)
    hourRead = true
  }
  const minute = (buf[p + 14] - ZERO) * 10 + buf[p + 15] - ZERO
  const second = (buf[p + 17] - ZERO) * 10 + buf[p + 18] - ZERO
  if (minute > 59 || second > 59) return Number.NaN
  return hourStart + minute * 60_000 + second * 1000 + (buf[p + 20] - ZERO) * 100 + (buf[p + 21] - ZERO) * 10 + buf[p + 22] - ZERO
}

import {LEVELS, parseTimestamp} from '../events/model.js'

/*
 * The writer's exact form (store/decode's CANONICAL_LINE), matched on the raw bytes of a block of
 * valid UTF-8: no regex, no strings (the summary scan and search --count read lines so). A string's
 * characters `[^"\\\x00-\x1f]` are, in UTF-8, the bytes other than `"`, `\` and 0x00–0x1f (a
 * multi-byte character's bytes are all 0x80 or above). Every other part is ASCII and has one way
 * to match, so a left-to-right pass decides what the regex decides; test/unit/summary-scan.test.ts
 * holds the two (and the full decoder) to the same answers. The buffer ends with an LF, which no
 * part of the form takes: every loop stops at it.
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

/**
 * A matcher of canonical lines and the line it last matched, by byte offsets into its buffer.
 * `counted*` hold, by their index in the names given, the start and end of each such `details`
 * member's string value (the last of duplicates, as JSON.parse keeps), start -1 when absent or not
 * a string.
 */
export class CanonicalBytes {
  time = 0
  timestampStart = 0
  eventStart = 0
  eventEnd = 0
  /** Index in LEVELS. */
  level = 0
  actorStart = 0
  actorEnd = 0
  readonly countedStart: Int32Array
  readonly countedEnd: Int32Array
  /** The counted names by their byte length, with their index. */
  readonly countedByLength: Array<Array<{index: number; bytes: Buffer}>> = []

  constructor(countedFields: readonly string[] = []) {
    this.countedStart = new Int32Array(countedFields.length)
    this.countedEnd = new Int32Array(countedFields.length)
    for (const [index, field] of countedFields.entries()) (this.countedByLength[field.length] ??= []).push({index, bytes: ascii(field)})
  }

  /**
   * Matches the line starting at `pos` of `buf` (whole lines: its last byte is an LF) against the
   * canonical form with its LF, and notes its members; returns where the next line starts, or -1
   * when the line is not canonical or its timestamp not a real time (the full decoder reads it then).
   */
  match(buf: Buffer, pos: number): number {
    for (let i = 0; i < START.length; i++) {
      const want = START[i]
      const b = buf[pos + i]
      if (want === ANY_DIGIT ? (CLASS[b] & DIGIT) === 0 : b !== want) return -1
    }
    let p = pos + START.length
    this.eventStart = p
    p = eventEnd(buf, p)
    if (p < 0) return -1
    this.eventEnd = p
    p = literal(buf, p, AFTER_EVENT)
    if (p < 0) return -1
    const level = levelIndex(buf[p])
    if (level < 0) return -1
    this.level = level
    p = literal(buf, p, LEVEL_TAILS[level])
    if (p < 0) return -1
    this.actorStart = p
    p = stringEnd(buf, p)
    if (buf[p] !== QUOTE) return -1
    this.actorEnd = p
    p = literal(buf, p, AFTER_ACTOR)
    if (p < 0) return -1
    const {countedStart} = this
    for (let i = 0; i < countedStart.length; i++) countedStart[i] = -1
    p = flatObjectEnd(buf, p, this)
    if (p < 0) return -1
    p = literal(buf, p, AFTER_DETAILS)
    if (p < 0) return -1
    p = flatObjectEnd(buf, p, undefined)
    if (p < 0) return -1
    if (buf[p] === COMMA) {
      p = literal(buf, p, CHAIN_HASH)
      if (p < 0) return -1
      for (const hashEnd = p + HASH_HEX; p < hashEnd; p++) if ((CLASS[buf[p]] & HEX) === 0) return -1
      if (buf[p] !== QUOTE) return -1
      p++
    }
    if (buf[p] !== CLOSE || buf[p + 1] !== LF) return -1
    this.timestampStart = pos + TIMESTAMP_AT
    this.time = timeAt(buf, this.timestampStart)
    return Number.isNaN(this.time) ? -1 : p + 2
  }
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

/** The index of the counted name in [start, end), or -1. */
function countedField(line: CanonicalBytes, buf: Buffer, start: number, end: number): number {
  const candidates = line.countedByLength[end - start]
  if (candidates === undefined) return -1
  for (const {index, bytes} of candidates) if (literal(buf, start, bytes) === end) return index
  return -1
}

/** A flat object (CANONICAL_FLAT_OBJECT) from `p`; where it ends, or -1. `line`: note its counted members there. */
function flatObjectEnd(buf: Buffer, p: number, line: CanonicalBytes | undefined): number {
  if (buf[p] !== OPEN) return -1
  p++
  if (buf[p] === CLOSE) return p + 1
  for (;;) {
    if (buf[p] !== QUOTE) return -1
    const keyStart = p + 1
    const keyEnd = stringEnd(buf, keyStart)
    if (buf[keyEnd] !== QUOTE || buf[keyEnd + 1] !== COLON) return -1
    const field = line ? countedField(line, buf, keyStart, keyEnd) : -1
    p = keyEnd + 2
    const b = buf[p]
    if (b === QUOTE) {
      const valueEnd = stringEnd(buf, p + 1)
      if (buf[valueEnd] !== QUOTE) return -1
      if (field >= 0) {
        line!.countedStart[field] = p + 1
        line!.countedEnd[field] = valueEnd
      }
      p = valueEnd + 1
    } else {
      p = b === 0x74 ? literal(buf, p, TRUE) : b === 0x66 ? literal(buf, p, FALSE) : b === 0x6e ? literal(buf, p, NULL) : numberEnd(buf, p)
      if (p < 0) return -1
      if (field >= 0) line!.countedStart[field] = -1
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

/** The time of the canonical timestamp (digits and separators checked) at `p`, as parseTimestamp gives it; NaN if not a real time. */
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

import {LEVELS, type Level} from '../events/model.js'

/*
 * What the codecs need to write a record as UTF-8 bytes straight from a log line in the writer's
 * exact form, without building the entry or the record's text: joining a record from parts and
 * flattening it into UTF-8 cost an export more than decoding did. Only printable ASCII is written
 * this way; anything else makes the encoder say no, and the caller encodes the decoded entry.
 */

/** A record part that differs by level only, as UTF-8 for each level. */
export function bytesByLevel(part: (level: Level) => string): Record<Level, Buffer> {
  return Object.fromEntries(LEVELS.map((level) => [level, Buffer.from(part(level))])) as Record<Level, Buffer>
}

/** Where a record's bytes go: `reserve(n)` makes room for n bytes in `buf` at `pos`; the writer moves `pos` on. */
export interface ByteOut {
  buf: Buffer
  pos: number
  reserve(bytes: number): void
}

/** A record this long or longer is left to the text road (a reservation is at most this). */
export const MAX_RECORD_BYTES = 64 * 1024

/** `bytes` at `pos`; returns the position after them. */
export function putBytes(buf: Buffer, pos: number, bytes: Uint8Array): number {
  buf.set(bytes, pos)
  return pos + bytes.length
}

/** Text known to be printable ASCII (a canonical timestamp or chain hash) at `pos`. */
export function putAscii(buf: Buffer, pos: number, text: string): number {
  return pos + buf.write(text, pos, 'latin1')
}

const NOT_PRINTABLE = /[^\x20-\x7e]/
/** Beyond printable ASCII, or `=` or `\`. */
const CEF_WORK = /[^\x20-\x3c\x3e-\x5b\x5d-\x7e]/

/** text[start, end) at `pos` when it is printable ASCII (its UTF-8 then); -1 when it holds anything else. */
export function putPrintable(buf: Buffer, pos: number, text: string, start = 0, end = text.length): number {
  if (start === 0 && end === text.length && end > SHORT) return NOT_PRINTABLE.test(text) ? -1 : pos + buf.write(text, pos, 'latin1')
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x20 || c > 0x7e) return -1
    buf[pos++] = c
  }
  return pos
}

/** As putPrintable, with `=` and `\` escaped by a backslash (a CEF extension value, cef.ts's cefValue). */
export function putCefPrintable(buf: Buffer, pos: number, text: string, start = 0, end = text.length): number {
  if (start === 0 && end === text.length && end > SHORT && !CEF_WORK.test(text)) return pos + buf.write(text, pos, 'latin1')
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x20 || c > 0x7e) return -1
    if (c === 0x3d || c === 0x5c) buf[pos++] = 0x5c
    buf[pos++] = c
  }
  return pos
}

/** Text up to this long is copied a character at a time: cheaper than a test and a native write. */
const SHORT = 16

/** The decimal digits of a safe integer, as String(n) writes them. */
export function putInteger(buf: Buffer, pos: number, n: number): number {
  if (n < 0) {
    buf[pos++] = 0x2d
    n = -n
  }
  // Below 1e9 the digits are taken with 32-bit integer division: a time in ms is written as two parts.
  if (n >= 1e9) {
    const high = Math.floor(n / 1e9)
    pos = putInteger(buf, pos, high)
    let low = n - high * 1e9
    for (let i = pos + 8; i >= pos; i--) {
      buf[i] = 0x30 + (low % 10)
      low = (low / 10) | 0
    }
    return pos + 9
  }
  let digits = 1
  for (let rest = n; rest >= 10; rest = (rest / 10) | 0) digits++
  for (let i = pos + digits - 1; i >= pos; i--) {
    buf[i] = 0x30 + (n % 10)
    n = (n / 10) | 0
  }
  return pos + digits
}

/**
 * The members of a flat object as written, four numbers each in `spans`: key start and end (inside
 * the quotes), value start and end (a string's with its quotes). Returns the member count, or -1
 * when JSON.stringify(JSON.parse(text)) would not give `text` back: a key twice (the last one
 * wins), a key that is an array index (moved to the front), or a number not in its shortest form.
 * `text` must be a CANONICAL_FLAT_OBJECT (no escapes, no nesting).
 */
function scanFlatObject(text: string, spans: number[]): number {
  if (text.length === 2) return 0
  let members = 0
  let pos = 1
  for (;;) {
    const keyStart = pos + 1
    const keyEnd = text.indexOf('"', keyStart)
    const first = text.charCodeAt(keyStart)
    if (first >= 0x30 && first <= 0x39) return -1
    for (let m = 0; m < members * 4; m += 4)
      if (spans[m + 1] - spans[m] === keyEnd - keyStart && sameText(text, spans[m], keyStart, keyEnd - keyStart)) return -1
    const valueStart = keyEnd + 2
    const c = text.charCodeAt(valueStart)
    let valueEnd: number
    if (c === 0x22) valueEnd = text.indexOf('"', valueStart + 1) + 1
    else {
      valueEnd = valueStart + 1
      while (text.charCodeAt(valueEnd) !== 0x2c && text.charCodeAt(valueEnd) !== 0x7d) valueEnd++
      if ((c === 0x2d || (c >= 0x30 && c <= 0x39)) && !shortestNumber(text, valueStart, valueEnd)) return -1
    }
    const at = members * 4
    spans[at] = keyStart
    spans[at + 1] = keyEnd
    spans[at + 2] = valueStart
    spans[at + 3] = valueEnd
    members++
    if (text.charCodeAt(valueEnd) === 0x7d) return members
    pos = valueEnd + 1
  }
}

function sameText(text: string, a: number, b: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (text.charCodeAt(a + i) !== text.charCodeAt(b + i)) return false
  return true
}

/** True when the JSON number text[start, end) is what JSON.stringify writes for its value. */
function shortestNumber(text: string, start: number, end: number): boolean {
  const digitsFrom = text.charCodeAt(start) === 0x2d ? start + 1 : start
  if (end - digitsFrom <= 15) {
    let integer = true
    for (let i = digitsFrom; i < end && integer; i++) integer = text.charCodeAt(i) <= 0x39 && text.charCodeAt(i) >= 0x30
    // Up to 15 digits are exact in a double; `-0` is written `0`.
    if (integer) return !(digitsFrom > start && end - digitsFrom === 1 && text.charCodeAt(digitsFrom) === 0x30)
  }
  const number = text.slice(start, end)
  return String(Number(number)) === number
}

/** The index in `spans` (a multiple of 4) of the member named `key`, or -1. */
function memberNamed(text: string, spans: number[], members: number, key: string): number {
  for (let m = 0; m < members * 4; m += 4) if (spans[m + 1] - spans[m] === key.length && text.startsWith(key, spans[m])) return m
  return -1
}

/**
 * The value of the member at `m` (memberNamed) as JSON.parse reads it, for the few members the
 * codecs look into (a string, number or literal of a CANONICAL_FLAT_OBJECT).
 */
function memberValue(text: string, spans: number[], m: number): unknown {
  if (m < 0) return undefined
  const start = spans[m + 2]
  const end = spans[m + 3]
  const c = text.charCodeAt(start)
  if (c === 0x22) return text.slice(start + 1, end - 1)
  if (c === 0x74) return true
  if (c === 0x66) return false
  if (c === 0x6e) return null
  return Number(text.slice(start, end))
}

/**
 * The members of a canonical line's details and metadata as scanFlatObject finds them, for a codec
 * to look into without parsing either. scan() overwrites them for each line.
 */
export class LineMembers {
  /** Where metadata.hostname's text (inside its quotes) starts and ends, when it is a string of more than its quotes; else -1. */
  hostnameStart = -1
  hostnameEnd = -1
  private details = ''
  private metadata = ''
  private readonly detailSpans: number[] = []
  private readonly metadataSpans: number[] = []
  private detailCount = -1
  private metadataCount = -1

  /** False when either would not come back as written from JSON.stringify(JSON.parse(…)). */
  scan(details: string, metadata: string): boolean {
    this.details = details
    this.metadata = metadata
    this.hostnameStart = -1
    this.hostnameEnd = -1
    this.detailCount = scanFlatObject(details, this.detailSpans)
    this.metadataCount = this.detailCount < 0 ? -1 : scanFlatObject(metadata, this.metadataSpans)
    if (this.metadataCount < 0) return false
    const spans = this.metadataSpans
    const host = memberNamed(metadata, spans, this.metadataCount, 'hostname')
    if (host >= 0 && metadata.charCodeAt(spans[host + 2]) === 0x22 && spans[host + 3] - spans[host + 2] > 2) {
      this.hostnameStart = spans[host + 2] + 1
      this.hostnameEnd = spans[host + 3] - 1
    }
    return true
  }

  /** The value of the details member named `key` as JSON.parse reads it; undefined when there is none. */
  detail(key: string): unknown {
    return memberValue(this.details, this.detailSpans, memberNamed(this.details, this.detailSpans, this.detailCount, key))
  }

  /** As detail(), of the metadata. */
  meta(key: string): unknown {
    return memberValue(this.metadata, this.metadataSpans, memberNamed(this.metadata, this.metadataSpans, this.metadataCount, key))
  }
}

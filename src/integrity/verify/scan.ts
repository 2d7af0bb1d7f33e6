import {isUtf8} from 'node:buffer'

import {sha256Hex, sha256Into} from '../../chain/hash.js'
import {canonicalizeText, lokiEntryHash, LOKI_HASH_KEY, parseLossless} from '../loki-canonical.js'
import {checkEntry, MAX_LINE_BYTES, type Profile} from '../../events/model.js'
import {CHAIN_SUFFIX_LENGTH as SUFFIX_LENGTH, hasChainSuffix} from '../../chain/native.js'

/**
 * The per-line half of verification: one LF-terminated block of a log file in, a compact list of
 * what it holds out. It checks every link it can on its own — link n needs only the stored hash of
 * line n-1 — so blocks can be scanned in parallel (worker threads); the caller checks the first
 * link of each run and everything that spans blocks, in order.
 */

/** Bytes reserved before a block's first line so the native hash can be computed in place. */
export const HEADROOM = 64

/** Consecutive chained lines (unchained and bad lines may sit between them) whose links all hold. */
export interface RunItem {
  k: 'run'
  /** 1-based line within the block. */
  line: number
  count: number
  /** What was hashed after the previous hash: the native body, or the loki canonical JSON. */
  firstBody: string
  firstHash: string
  lastHash: string
  /** 1-based line of the run's last chained line, and the byte offset in the block just after its LF. */
  lastLine: number
  lastEnd: number
}

export type BadKind = 'malformed' | 'not-object' | 'duplicate-key' | 'unchained' | 'utf8' | 'too-long' | 'not-canonical' | 'invalid-entry'

export interface BadItem {
  k: 'bad'
  line: number
  kind: BadKind
  reason: string
  /** Byte length and sha256 of the line, so a later `audit.recovery` entry can account for it. */
  bytes?: number
  sha256?: string
}

/** A chained `audit.retention` / `audit.recovery` line, in full. */
export interface SpecialItem {
  k: 'special'
  line: number
  text: string
  /** Timestamps (epoch ms, NaN when unreadable) of the chained lines before and after it in the block, when the block holds them. */
  prevTime?: number
  nextTime?: number
}

/** A chained line whose stored hash is a checkpoint head the caller asked about. */
export interface MarkItem {
  k: 'mark'
  line: number
  hash: string
  /** Chained lines in this block before it. */
  before: number
  /** Byte offset in the block just after its LF. */
  end: number
}

export type ScanItem = RunItem | BadItem | SpecialItem | MarkItem

export interface ScanResult {
  /** Lines in the block (blank ones included). */
  lines: number
  /** Chained lines in the block. */
  chained: number
  items: ScanItem[]
  /** Native: timestamps (epoch ms, NaN when unreadable) of the block's first and last chained lines. */
  firstTime?: number
  lastTime?: number
  /**
   * Every line that is not a chained entry (blank, bad, unchained, too long), as OTHER_RECORD bytes
   * each: its line in the block (float64 LE; the caller makes it the line in the file) and the raw
   * sha256 of its bytes. A chained line's bytes are pinned by the chain; these are what a
   * checkpoint must pin besides (see checkpoint.ts). Bytes, not objects: a block of a million tiny
   * lines must not fill a worker's heap.
   */
  others: Uint8Array
  /** What a caller's own scanner (VerifyOptions.blocks) read of the block besides. */
  extra?: unknown
}

/** Bytes per line in ScanResult.others. */
export const OTHER_RECORD = 40

export interface ScanRequest {
  buf: Uint8Array
  /** Offset of the block's first byte (at least HEADROOM); the block ends with LF at `end - 1`. */
  start: number
  end: number
  profile: Profile
  /** Checkpoint head hashes to look for. */
  wanted?: readonly string[]
  /** Check every chained native line as the writer would have written it (see strictNative). */
  strict?: boolean
  /** For a caller's own scanner (VerifyOptions.blocks): what it is to read of the block besides. */
  extra?: unknown
}

const SPECIAL = Buffer.from('"event":"audit.re')
const TIME_START = Buffer.from('{"timestamp":"')

/** The timestamp of a native line starting at `start`, read without parsing; NaN when it does not start that way. */
function peekTime(buf: Buffer, start: number, end: number): number {
  if (end - start < TIME_START.length + 2 || buf.compare(TIME_START, 0, TIME_START.length, start, start + TIME_START.length) !== 0)
    return Number.NaN
  const from = start + TIME_START.length
  const quote = buf.indexOf(0x22, from)
  if (quote < 0 || quote >= end || quote - from > 40) return Number.NaN
  return Date.parse(buf.toString('latin1', from, quote))
}
const HEX64 = /^[0-9a-f]{64}$/

function isBlank(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = buf[i]
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false
  }
  return true
}

/** Classifies a line that is not a chained entry of its profile. */
/** A line over MAX_LINE_BYTES, reported by its length without being read as text. */
export function tooLongItem(line: number, bytes: number): BadItem {
  return {k: 'bad', line, kind: 'too-long', reason: `${bytes} bytes, over the ${MAX_LINE_BYTES} a line may hold; not checked`, bytes}
}

/** `sha256` is the hex sha256 of `bytes`, computed by the caller. */
function classify(text: string, bytes: Buffer, profile: Profile, line: number, sha256: string): BadItem {
  const trace = {bytes: bytes.length, sha256}
  // A file converted to CRLF line endings: say so rather than what the CR breaks.
  if (text.endsWith('\r'))
    return {
      k: 'bad',
      line,
      kind: 'malformed',
      reason: 'ends with CR: CRLF line endings (the file was converted, or the line edited)',
      ...trace,
    }
  const parsed = parseLossless(text)
  if (!parsed.ok)
    return {k: 'bad', line, kind: 'malformed', reason: `not valid JSON (${parsed.reason} at column ${parsed.offset + 1})`, ...trace}
  if (parsed.value.t !== 'obj') {
    const what =
      parsed.value.t === 'arr'
        ? 'an array'
        : parsed.value.t === 'str'
          ? 'a string'
          : parsed.value.t === 'null'
            ? 'null'
            : parsed.value.t === 'bool'
              ? 'a boolean'
              : 'a number'
    return {k: 'bad', line, kind: 'not-object', reason: `a JSON value that is not an object (${what})`, ...trace}
  }
  const key = profile === 'native' ? 'chain_hash' : LOKI_HASH_KEY
  if (parsed.value.entries.some(([name]) => name === key)) {
    const reason = profile === 'native' ? 'chain_hash is not the last member or not 64 lowercase hex' : `${key} is not 64 lowercase hex`
    return {k: 'bad', line, kind: 'malformed', reason, ...trace}
  }
  return {k: 'bad', line, kind: 'unchained', reason: `no ${key}`}
}

/** What is visibly wrong with a native body (the line without chain_hash), if anything. */
export function nativeBodyNote(body: string): string | undefined {
  const parsed = parseLossless(body)
  if (!parsed.ok) return `not valid JSON (${parsed.reason})`
  if (parsed.duplicateKey) return `duplicate key ${parsed.duplicateKey.pointer}`
  // The writer serializes with JSON.stringify; anything else was re-serialized or hand-edited.
  if (JSON.stringify(JSON.parse(body)) !== body) return 'not as auditkit serializes it (whitespace, key order or escapes changed)'
  return undefined
}

/** The members of a native entry, in the order the writer serializes them (DESIGN.md). */
const MEMBERS = ['timestamp', 'event', 'level', 'actor', 'details', 'metadata']
/** `Date.prototype.toISOString()`, which is how the writer stamps entries. */
const WRITER_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

/**
 * --strict: what makes a chained native body (the line without chain_hash) one the writer cannot
 * have written, whether or not its link holds: a duplicate key anywhere, bytes other than
 * JSON.stringify's (whitespace, escapes, member order), members other than DESIGN.md's, or an
 * entry that fails the event model. The common case costs one JSON.parse and one JSON.stringify;
 * only a line that does not round-trip is parsed losslessly to say why.
 */
export function strictNative(body: string, line: number): BadItem | undefined {
  let value: unknown
  let serialized: string
  try {
    value = JSON.parse(body)
    serialized = JSON.stringify(value)
  } catch {
    // Not JSON, or nested so deep that re-serializing it exhausts the stack.
    const parsed = parseLossless(body)
    return {
      k: 'bad',
      line,
      kind: 'not-canonical',
      reason: `not valid JSON (${parsed.ok ? 'rejected by JSON.parse, or nested too deeply' : `${parsed.reason} at column ${parsed.offset + 1}`}), though its hash links`,
    }
  }
  if (serialized !== body) {
    const parsed = parseLossless(body)
    if (parsed.ok && parsed.duplicateKey)
      return {k: 'bad', line, kind: 'duplicate-key', reason: `duplicate key ${parsed.duplicateKey.pointer}, though its hash links`}
    return {
      k: 'bad',
      line,
      kind: 'not-canonical',
      reason: 'not as auditkit serializes it (whitespace, member order or escapes), though its hash links',
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return {k: 'bad', line, kind: 'invalid-entry', reason: 'not a JSON object, though its hash links'}
  const entry = value as Record<string, unknown>
  const members = Object.keys(entry)
  if (members.length !== MEMBERS.length || members.some((m, i) => m !== MEMBERS[i])) {
    return {
      k: 'bad',
      line,
      kind: 'not-canonical',
      reason: `members ${members.join(', ')}; the writer writes ${MEMBERS.join(', ')}, then chain_hash`,
    }
  }
  const checked = checkEntry(entry)
  if (typeof checked === 'string') return {k: 'bad', line, kind: 'invalid-entry', reason: `not a valid entry (${checked})`}
  if (!WRITER_TIME.test(entry.timestamp as string))
    return {
      k: 'bad',
      line,
      kind: 'invalid-entry',
      reason: 'not a valid entry (timestamp: not UTC with milliseconds, as the writer stamps it)',
    }
  if (checked.entry.level !== entry.level)
    return {
      k: 'bad',
      line,
      kind: 'invalid-entry',
      reason: `not a valid entry (level: "${String(entry.level)}" where the writer writes "${checked.entry.level}")`,
    }
  return undefined
}

class Scanner {
  readonly items: ScanItem[] = []
  private run: RunItem | undefined
  private prev: string | undefined
  chained = 0

  constructor(private readonly wanted: ReadonlySet<string> | undefined) {}

  /** A chained line whose link was checked (`linked`) or could not be / failed; `end` is just after its LF. */
  chain(line: number, end: number, stored: string, linked: boolean, firstBody: () => string): void {
    if (linked && this.run) {
      this.run.count++
      this.run.lastHash = stored
      this.run.lastLine = line
      this.run.lastEnd = end
    } else {
      this.run = {k: 'run', line, count: 1, firstBody: firstBody(), firstHash: stored, lastHash: stored, lastLine: line, lastEnd: end}
      this.items.push(this.run)
    }
    if (this.wanted?.has(stored)) this.items.push({k: 'mark', line, hash: stored, before: this.chained, end})
    this.prev = stored
    this.chained++
  }

  get previous(): string | undefined {
    return this.prev
  }
}

export function scanBlock(request: ScanRequest): ScanResult {
  const buf = Buffer.from(request.buf.buffer, request.buf.byteOffset, request.buf.byteLength)
  const {start, end, profile} = request
  const wanted = request.wanted && request.wanted.length > 0 ? new Set(request.wanted) : undefined
  const scanner = new Scanner(wanted)
  const byteAt = (i: number): number => buf[i]
  const utf8 = isUtf8(buf.subarray(start, end))
  const specials: number[] = []
  if (profile === 'native')
    for (let at = buf.indexOf(SPECIAL, start); at >= 0 && at < end; at = buf.indexOf(SPECIAL, at + 1)) specials.push(at)
  let special = 0
  let line = 0
  // Where the last chained line started, and a special line waiting for the next one's timestamp.
  let lastStart = -1
  let lastEnd = -1
  let firstTime: number | undefined
  let awaiting: SpecialItem | undefined
  let others = Buffer.alloc(0)
  let othersLength = 0
  /** Records a line that is not a chained entry; returns its sha256 in hex. */
  const other = (lineStart: number, lineEnd: number): string => {
    if (othersLength + OTHER_RECORD > others.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(64 * OTHER_RECORD, others.length * 2))
      others.copy(grown, 0, 0, othersLength)
      others = grown
    }
    others.writeDoubleLE(line, othersLength)
    sha256Into(buf.subarray(lineStart, lineEnd), others, othersLength + 8)
    othersLength += OTHER_RECORD
    return others.toString('hex', othersLength - 32, othersLength)
  }

  for (let pos = start; pos < end; ) {
    const nl = buf.indexOf(10, pos)
    const lineStart = pos
    const lineEnd = nl
    pos = nl + 1
    line++
    if (buf[lineStart] !== 0x7b && isBlank(buf, lineStart, lineEnd)) {
      other(lineStart, lineEnd)
      if (request.strict) scanner.items.push({k: 'bad', line, kind: 'not-canonical', reason: 'a blank line; the writer never writes one'})
      continue
    }
    if (lineEnd - lineStart > MAX_LINE_BYTES) {
      // No writer writes such a line, and as a string it could exhaust a worker's heap: reported by its bytes only.
      scanner.items.push({...tooLongItem(line, lineEnd - lineStart), sha256: other(lineStart, lineEnd)})
      continue
    }
    if (!utf8 && !isUtf8(buf.subarray(lineStart, lineEnd))) {
      scanner.items.push({
        k: 'bad',
        line,
        kind: 'utf8',
        reason: 'not valid UTF-8',
        bytes: lineEnd - lineStart,
        sha256: other(lineStart, lineEnd),
      })
      continue
    }

    if (profile === 'native') {
      const stored = hasChainSuffix(byteAt, lineStart, lineEnd) ? buf.toString('latin1', lineEnd - 66, lineEnd - 2) : undefined
      if (stored === undefined) {
        scanner.items.push(
          classify(buf.toString('utf8', lineStart, lineEnd), buf.subarray(lineStart, lineEnd), profile, line, other(lineStart, lineEnd)),
        )
        continue
      }
      while (special < specials.length && specials[special] < lineStart) special++
      const isSpecial = special < specials.length && specials[special] < lineEnd
      const text = isSpecial ? buf.toString('utf8', lineStart, lineEnd) : undefined
      // Read before the hash check below writes over the end of the previous line.
      const time = firstTime === undefined || isSpecial || awaiting ? peekTime(buf, lineStart, lineEnd) : undefined
      const prevTime = isSpecial && lastStart >= 0 ? peekTime(buf, lastStart, lastEnd) : undefined
      // In place: `prev` into the 64 bytes before the line (the previous line is done with, or
      // headroom) and `}` over the suffix's comma, so `prev + body` is one contiguous slice.
      const bodyEnd = lineEnd - SUFFIX_LENGTH
      buf[bodyEnd - 1] = 0x7d
      let linked = false
      const prev = scanner.previous
      if (prev !== undefined) {
        // Right after the chained line whose hash `prev` is, its bytes are moved over (a memmove); else written.
        if (lastEnd === lineStart - 1) buf.copyWithin(lineStart - HEADROOM, lastEnd - 66, lastEnd - 2)
        else buf.write(prev, lineStart - HEADROOM, HEADROOM, 'latin1')
        linked = sha256Hex(buf.subarray(lineStart - HEADROOM, bodyEnd)) === stored
      }
      // A matching hash proves the 64 characters are hex; only the others need the pattern.
      if (!linked && !HEX64.test(stored)) {
        buf[bodyEnd - 1] = 0x2c
        scanner.items.push(
          classify(buf.toString('utf8', lineStart, lineEnd), buf.subarray(lineStart, lineEnd), profile, line, other(lineStart, lineEnd)),
        )
        continue
      }
      scanner.chain(line, pos - start, stored, linked, () => buf.toString('utf8', lineStart, bodyEnd))
      firstTime ??= time
      if (awaiting) awaiting.nextTime = time
      awaiting = undefined
      lastStart = lineStart
      lastEnd = lineEnd
      if (request.strict) {
        const flaw = strictNative(buf.toString('utf8', lineStart, bodyEnd), line)
        if (flaw) scanner.items.push(flaw)
      }
      if (text !== undefined) {
        const item: SpecialItem = {k: 'special', line, text, ...(prevTime === undefined ? {} : {prevTime})}
        scanner.items.push(item)
        awaiting = item
      }
      continue
    }

    const text = buf.toString('utf8', lineStart, lineEnd)
    const prev = scanner.previous
    const result = lokiEntryHash(prev ?? '', text)
    if (!result.ok || result.stored === null || !HEX64.test(result.stored)) {
      scanner.items.push(classify(text, buf.subarray(lineStart, lineEnd), profile, line, other(lineStart, lineEnd)))
      continue
    }
    if (result.duplicateKey)
      scanner.items.push({
        k: 'bad',
        line,
        kind: 'duplicate-key',
        reason: `duplicate key ${result.duplicateKey.pointer} (loki-mode's verifier keeps the last value)`,
      })
    scanner.chain(line, pos - start, result.stored, prev !== undefined && result.computed === result.stored, () => {
      const canonical = canonicalizeText(text, LOKI_HASH_KEY)
      return canonical.ok ? canonical.canonical : ''
    })
  }
  const done = {lines: line, chained: scanner.chained, items: scanner.items, others: others.subarray(0, othersLength)}
  return firstTime === undefined ? done : {...done, firstTime, lastTime: peekTime(buf, lastStart, lastEnd)}
}

/** What scanning an over-long line, skipped by fileBlocks, finds: one line, reported by its length. */
export function tooLongResult(bytes: number): ScanResult {
  // Not read, so not hashed: its length stands in (a line this long is a problem anyway).
  const others = Buffer.alloc(OTHER_RECORD)
  others.writeDoubleLE(1, 0)
  others.writeDoubleLE(bytes, 8)
  return {lines: 1, chained: 0, items: [tooLongItem(1, bytes)], others}
}

/** Recognises a file's profile from its first lines: loki-mode entries have action and resource_type, no event. */
export function detectProfile(block: Buffer): Profile {
  let pos = HEADROOM
  for (let tries = 0; tries < 10 && pos < block.length; tries++) {
    const nl = block.indexOf(10, pos)
    const text = block.toString('utf8', pos, nl)
    pos = nl + 1
    if (text.trim() === '') continue
    const parsed = parseLossless(text)
    if (!parsed.ok || parsed.value.t !== 'obj') continue
    const keys = new Set(parsed.value.entries.map(([k]) => k))
    return keys.has('action') && keys.has('resource_type') && !keys.has('event') ? 'loki' : 'native'
  }
  return 'native'
}

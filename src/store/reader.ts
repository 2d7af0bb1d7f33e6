import {isUtf8} from 'node:buffer'
import {closeSync, createReadStream, read, readSync} from 'node:fs'
import {createRequire} from 'node:module'

import type {CompiledFilter} from '../events/filter.js'
import {type LocatedEntry, MAX_LINE_BYTES, type Profile} from '../events/model.js'
import {sha256Hex} from '../chain/hash.js'
import {decodeLine, peekNativeTime} from './decode.js'
import {Diagnostics, type Problem} from './diagnostics.js'
import {
  AGE_DAMAGED,
  currentForms,
  describeFsErrorWithCode,
  isIdentityError,
  isWholeFileOnly,
  type LogFile,
  listLogFiles,
  openRegularSync,
} from './files.js'
import {countLineFeeds, ForwardFramer, LF} from './lines.js'

export {countFileLineFeeds, countLineFeeds} from './lines.js'

// 64 KiB, not 1 MiB: a block's text then stays in V8's young generation instead of a fresh large
// object each time (half the page faults; export's CPU fell about 18%, BENCHMARKS.md, session 7).
const CHUNK_BYTES = 64 * 1024

export interface RawLine {
  text: string
  line: number
  /** The line's bytes when they are not valid UTF-8; `text` is empty then. */
  bytes?: Buffer
}

/** Where a follower is in a plain file; `readFileLines` advances it as it hands out lines. */
export interface ReadCursor {
  /** Byte offset just after the last line handed out or reported. */
  offset: number
  /** Number of the last line passed. */
  line: number
  /** Inside an over-long line that was reported already, its end not read yet. */
  skipping: boolean
}

export interface ReadFileOptions {
  /** Byte offset to start at. */
  start?: number
  /** Read this open descriptor (left open) instead of opening the path: it stays readable after a rename or unlink. */
  fd?: number
  /** Start where the cursor is (instead of `start`, numbering lines on from it) and advance it. Plain files only. */
  cursor?: ReadCursor
  /** Leave an unterminated last line unread, as its writer may still be finishing it. */
  waitForLine?: boolean
  /**
   * Take an unterminated last line that is a whole entry, as the writer does (it ends such a line
   * with LF and chains on from it). Readers do not: it is not an entry until its LF is written.
   */
  wholeLastLine?: boolean
  /**
   * Literals a wanted line contains one of. In a native file (first line starting with
   * `{"timestamp":"`), lines with none of them and no backslash (an escape could hide one) are
   * skipped without being decoded; their line numbers still count.
   */
  needles?: string[]
}

const require = createRequire(import.meta.url)
const NATIVE_START = Buffer.from('{"timestamp":"')
const BACKSLASH = 92
const CLOSE_BRACE = 125
const RECOVERY_EVENT = Buffer.from('"event":"audit.recovery"')

/** Characters of log text (hex hashes, timestamps, member names), the most frequent first. */
const COMMON_CHARS = '"0123456789eatsidnoc.rmbfhl:p,_-vuwgk'
const KEY_MIN = 4
const KEY_MAX = 7

/**
 * The part of a needle to look for in raw bytes: Buffer#indexOf finds a short needle by scanning
 * for its first byte, so a part that starts on a character rare in log text is found several times
 * faster (`uth.fai` against `auth.fail`: 13 ms against 71 ms on 45 MB). At least KEY_MIN long, or
 * the whole needle, to stay selective. Every line holding the needle holds its part; which of them
 * match is decided on the decoded line. A needle that is not ASCII is kept whole.
 */
export function searchKey(needle: string): string {
  if (!/^[\x20-\x7e]*$/.test(needle)) return needle
  const shortest = Math.min(needle.length, KEY_MIN)
  let start = 0
  let rarity = -1
  for (let i = 0; i + shortest <= needle.length; i++) {
    const rank = COMMON_CHARS.indexOf(needle[i])
    const r = rank < 0 ? COMMON_CHARS.length : rank
    if (r > rarity) {
      start = i
      rarity = r
    }
  }
  return needle.slice(start, start + KEY_MAX)
}

/**
 * Visits, in order, the lines of `block` (complete lines, each ending with LF) that contain one of
 * the needles or a backslash (an escape may hide a needle), as [start, end) without the LF; and
 * after such a line that does not end like an entry (it may be torn), the next line too when it is
 * an audit.recovery record, which settles it. Found with native searches, so lines that cannot
 * match cost nothing each. Returns whether the block ends with such a maybe-torn line: its record
 * is then the next block's first line, visited when that block is passed `afterTorn`.
 */
export function forEachCandidateLine(
  block: Buffer,
  needles: Buffer[],
  visit: (start: number, end: number) => void,
  afterTorn = false,
): boolean {
  let pos = 0
  if (afterTorn) {
    const end = block.indexOf(LF)
    if (end >= 0 && block.subarray(0, end).includes(RECOVERY_EVENT)) {
      visit(0, end)
      pos = end + 1
    }
  }
  // Typed, not needles.map(): optimized code builds a map's array in another shape than the
  // interpreter does, and the loads below would send V8 back to recompile.
  const next = new Int32Array(needles.length)
  for (let i = 0; i < needles.length; i++) next[i] = block.indexOf(needles[i], pos)
  let nextBackslash = block.indexOf(BACKSLASH, pos)
  while (pos < block.length) {
    let hit = nextBackslash
    for (let i = 0; i < needles.length; i++) {
      if (next[i] >= 0 && next[i] < pos) next[i] = block.indexOf(needles[i], pos)
      if (next[i] >= 0 && (hit < 0 || next[i] < hit)) hit = next[i]
    }
    if (hit < 0) return false
    const start = block.lastIndexOf(LF, hit) + 1
    const end = block.indexOf(LF, hit)
    visit(start, end)
    pos = end + 1
    if (nextBackslash >= 0 && nextBackslash < pos) nextBackslash = block.indexOf(BACKSLASH, pos)
    if (block[end - 1] !== CLOSE_BRACE) {
      if (pos >= block.length) return true
      const nextEnd = block.indexOf(LF, pos)
      const candidate =
        (nextBackslash >= 0 && nextBackslash < nextEnd) ||
        needles.some((n, i) => {
          if (next[i] >= 0 && next[i] < pos) next[i] = block.indexOf(n, pos)
          return next[i] >= 0 && next[i] < nextEnd
        })
      if (!candidate && block.subarray(pos, nextEnd).includes(RECOVERY_EVENT)) {
        visit(pos, nextEnd)
        pos = nextEnd + 1
      }
    }
  }
  return false
}

/**
 * The byte ranges of the candidate lines of `block` (forEachCandidateLine), each with its 0-based
 * line index in the block, and the block's line count: line feeds are counted in bulk between them.
 */
export function candidateLines(
  block: Buffer,
  needles: Buffer[],
  afterTorn = false,
): {ranges: Array<{start: number; end: number; index: number}>; lines: number; endsTorn: boolean} {
  const ranges: Array<{start: number; end: number; index: number}> = []
  let counted = 0 // line feeds are counted up to here
  let index = 0
  const endsTorn = forEachCandidateLine(
    block,
    needles,
    (start, end) => {
      index += countLineFeeds(block, counted, start)
      ranges.push({start, end, index})
      index++
      counted = end + 1
    },
    afterTorn,
  )
  return {ranges, lines: index + countLineFeeds(block, counted, block.length), endsTorn}
}

/**
 * A line's bytes (within the limit, without LF) as a RawLine numbered `line`; undefined for a
 * blank line. Bytes that are not UTF-8 are passed on, not reported here: a line torn inside a
 * character may be followed by its recovery record.
 */
export function rawLine(bytes: Buffer, line: number): RawLine | undefined {
  if (!isUtf8(bytes)) return {text: '', line, bytes: Buffer.from(bytes)}
  const text = bytes.toString('utf8')
  return text.trim() === '' ? undefined : {text, line}
}

/** File operations for a stream on a caller's descriptor: the stream reads it but must not close it. */
const callerOwned = {read, close: (_fd: number, callback: (error: null) => void) => callback(null)}

/**
 * A plain file's chunks read with positioned synchronous reads, for readers on worker threads:
 * a worker has nothing else to do while it waits, and a read stream's thread-pool round trip per
 * chunk cost about ten times the copy itself.
 */
class BlockingChunks implements Iterable<Buffer> {
  constructor(
    private readonly fd: number,
    private position: number,
    private readonly owned: boolean,
  ) {}

  *[Symbol.iterator](): Iterator<Buffer> {
    for (;;) {
      const chunk = Buffer.allocUnsafeSlow(CHUNK_BYTES)
      const n = readSync(this.fd, chunk, 0, CHUNK_BYTES, this.position)
      if (n === 0) return
      this.position += n
      yield n === CHUNK_BYTES ? chunk : chunk.subarray(0, n)
    }
  }

  destroy(): void {
    if (this.owned) closeSync(this.fd)
  }
}

/**
 * Streams a file's lines (plain, gzip, age or both) in batches, in constant memory. Lines that are too long,
 * not UTF-8, or unterminated at the end, and gzip damage, go to `diagnostics`; the good lines
 * before any damage are kept. Stopping the iteration closes the file (but not a given `fd`).
 */
export async function* readFileLines(
  file: Pick<LogFile, 'path' | 'gzip'>,
  diagnostics: Diagnostics,
  options: ReadFileOptions = {},
): AsyncGenerator<RawLine[]> {
  const {cursor, fd} = options
  const start = cursor ? cursor.offset : options.start
  // gunzip and age load with the first such file, not on every reader's start-up (tail's above all).
  const decode = isWholeFileOnly(file) ? (await import('./payload.js')).plaintextStream : undefined
  let own: number | undefined
  if (fd === undefined) {
    try {
      own = openRegularSync(file.path)
    } catch (error) {
      diagnostics.report({kind: 'unreadable', file: file.path, reason: describeFsErrorWithCode(error)})
      return
    }
  }
  // Our own descriptor is closed by the stream; a caller's is left open.
  // worker_threads is loaded here, not at start-up: a summary from a warm cache reads no file. And
  // required, not import()ed: from the fast path's CommonJS bundle import() starts the ESM loader.
  const source =
    !decode && !(require('node:worker_threads') as typeof import('node:worker_threads')).isMainThread
      ? new BlockingChunks(fd ?? own!, start ?? 0, fd === undefined)
      : createReadStream(file.path, {highWaterMark: CHUNK_BYTES, start, ...(fd === undefined ? {fd: own} : {fd, fs: callerOwned})})
  const stream = decode ? decode(file, source as ReturnType<typeof createReadStream>, CHUNK_BYTES) : source
  const framer = new ForwardFramer(start ?? 0, cursor?.skipping ?? false)
  let lineNo = cursor?.line ?? 0
  const advance = () => {
    if (!cursor) return
    cursor.offset = framer.offset
    cursor.line = lineNo
    cursor.skipping = framer.skipping
  }

  const needles = options.needles?.map((n) => Buffer.from(searchKey(n)))
  let nativeFile: boolean | undefined // decided by the first block
  let afterTorn = false // the last block ended with a maybe-torn candidate (forEachCandidateLine)

  const take = (bytes: Buffer, batch: RawLine[]) => {
    if (bytes.length > MAX_LINE_BYTES) {
      diagnostics.report({kind: 'too-long', file: file.path, line: lineNo, reason: `${bytes.length} bytes`})
      return
    }
    const raw = rawLine(bytes, lineNo)
    if (raw) batch.push(raw)
  }

  const split = (block: Buffer): RawLine[] => {
    const batch: RawLine[] = []
    nativeFile ??= block.subarray(0, NATIVE_START.length).equals(NATIVE_START)
    if (needles && nativeFile) {
      const first = lineNo
      const {ranges, lines, endsTorn} = candidateLines(block, needles, afterTorn)
      afterTorn = endsTorn
      for (const {start, end, index} of ranges) {
        lineNo = first + index + 1
        take(block.subarray(start, end), batch)
      }
      lineNo = first + lines
      return batch
    }
    if (isUtf8(block)) {
      const parts = block.toString('utf8').split('\n')
      parts.pop() // block ends with LF
      for (const text of parts) {
        lineNo++
        if (text.length > MAX_LINE_BYTES / 4 && Buffer.byteLength(text) > MAX_LINE_BYTES) {
          diagnostics.report({kind: 'too-long', file: file.path, line: lineNo, reason: `${Buffer.byteLength(text)} bytes`})
        } else if (text.trim() !== '') batch.push({text, line: lineNo})
      }
      return batch
    }
    let start = 0
    for (let nl = block.indexOf(LF); nl >= 0; start = nl + 1, nl = block.indexOf(LF, start)) {
      lineNo++
      take(block.subarray(start, nl), batch)
    }
    return batch
  }

  try {
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        let batch: RawLine[] = []
        for (const framed of framer.push(chunk)) {
          if (Buffer.isBuffer(framed)) {
            const more = split(framed)
            batch = batch.length > 0 ? batch.concat(more) : more
          } else if (!framed.ended) {
            lineNo++
            diagnostics.report({kind: 'too-long', file: file.path, line: lineNo, reason: `over ${MAX_LINE_BYTES} bytes`})
          }
        }
        advance() // before the yield: a consumer that stops here has had everything up to the cursor
        if (batch.length > 0) yield batch
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (file.gzip && code?.startsWith('Z_')) {
        diagnostics.report({
          kind: 'truncated-gzip',
          file: file.path,
          reason: `${(error as Error).message}; entries before the damage were kept`,
        })
      } else if (code === AGE_DAMAGED) {
        diagnostics.report({
          kind: 'damaged-age',
          file: file.path,
          reason: `${(error as Error).message}; entries before the damage were kept`,
        })
      } else if (isIdentityError(error)) {
        diagnostics.report({kind: 'encrypted', file: file.path, reason: (error as Error).message})
      } else {
        diagnostics.report({kind: 'unreadable', file: file.path, reason: describeFsErrorWithCode(error)})
      }
      framer.drop()
    }
    if (!options.waitForLine) {
      const torn = framer.finish()
      if (Buffer.isBuffer(torn)) {
        // A final line without LF: a write in progress or a torn write, not an entry (yet).
        lineNo++
        const text = options.wholeLastLine && isUtf8(torn) ? torn.toString('utf8') : undefined
        const whole = text !== undefined && decodeLine(text).ok ? text : undefined
        if (whole === undefined)
          diagnostics.report({kind: 'unterminated', file: file.path, line: lineNo, reason: `${torn.length} bytes without a final newline`})
        advance()
        if (whole !== undefined) yield [{text: whole, line: lineNo}]
      }
    }
  } finally {
    source.destroy()
  }
}

export interface ReadOptions {
  filter?: CompiledFilter
  /** Force a profile instead of recognising each file by its content. */
  profile?: Profile
  diagnostics?: Diagnostics
}

/**
 * A bad line held back by one line: a torn line that auditkit's writer recovered is followed by its
 * `audit.recovery` record, and is then an accounted gap, not damage to report.
 */
export interface DecodeState {
  held?: {problem: Problem; line: RawLine}
}

/**
 * True when `next`, the line directly after the torn line `torn` in the same file, is its
 * `audit.recovery` record. Not by the file name the record gives: a follower may still know the file
 * by its live name after the writer moved it into a part.
 */
function recovers(next: RawLine, torn: RawLine, profile: Profile | undefined): boolean {
  if (next.line !== torn.line + 1 || !next.text.includes('"audit.recovery"')) return false
  const decoded = decodeLine(next.text, profile)
  if (!decoded.ok || decoded.entry.event !== 'audit.recovery') return false
  const details = decoded.entry.details
  // Lines read backwards are numbered from the end (negative): then the fragment's hash alone identifies it.
  const fragment = torn.bytes ?? torn.text
  return (
    (torn.line < 0 || details.line === torn.line) &&
    details.fragment_bytes === Buffer.byteLength(fragment) &&
    details.fragment_sha256 === sha256Hex(fragment)
  )
}

/**
 * For readers that number lines by position in a byte range, not from the file's start: settles the
 * held bad line against `next` when `adjacent` says it follows it, taking the line number the recovery
 * record claims. Returns that number when the record excused the line; else the line is reported.
 */
export function settleHeldByClaim(
  state: DecodeState,
  next: RawLine | undefined,
  adjacent: boolean,
  profile: Profile | undefined,
  diagnostics: Diagnostics,
): number | undefined {
  const held = state.held
  if (!held) return undefined
  if (next && adjacent && next.text.includes('"audit.recovery"')) {
    const decoded = decodeLine(next.text, profile)
    const claimed = decoded.ok ? decoded.entry.details.line : undefined
    if (typeof claimed === 'number') {
      const check = new Diagnostics()
      state.held = {...held, line: {...held.line, line: claimed}}
      settleHeld(state, {...next, line: claimed + 1}, profile, check)
      if (check.total === 0) return claimed
    }
  }
  state.held = undefined
  diagnostics.report(held.problem)
  return undefined
}

/** Reports the held bad line unless `next` (the line after it in its file, if any) is its recovery record. */
export function settleHeld(state: DecodeState, next: RawLine | undefined, profile: Profile | undefined, diagnostics: Diagnostics): void {
  const {held} = state
  if (!held) return
  state.held = undefined
  if (!next || !recovers(next, held.line, profile)) diagnostics.report(held.problem)
}

/**
 * Decodes and filters a batch of raw lines from one file into located entries. With a state
 * (lines in file order), a bad line is reported only once the next line shows it was not recovered.
 */
export function decodeBatch(
  file: string,
  lines: RawLine[],
  options: ReadOptions,
  diagnostics: Diagnostics,
  state?: DecodeState,
): LocatedEntry[] {
  const {filter, profile} = options
  // Looking into the raw line pays only when there is a bound or a needle to check there.
  const peek = filter && (filter.since !== undefined || filter.until !== undefined || filter.mayMatchRaw !== undefined) ? filter : undefined
  const out: LocatedEntry[] = []
  for (const raw of lines) {
    const {text, line} = raw
    if (state?.held) settleHeld(state, raw, profile, diagnostics)
    if (raw.bytes) {
      const problem: Problem = {kind: 'utf8', file, line, reason: 'not valid UTF-8'}
      if (state) state.held = {problem, line: raw}
      else diagnostics.report(problem)
      continue
    }
    if (filter?.rawTest && !filter.rawTest(text)) continue
    if (peek) {
      const nativeTime = peekNativeTime(text)
      if (!Number.isNaN(nativeTime)) {
        // A native line: its time and the literal needles can be checked before parsing.
        if (peek.since !== undefined && nativeTime < peek.since) continue
        if (peek.until !== undefined && nativeTime >= peek.until) continue
        if (peek.mayMatchRaw && !peek.mayMatchRaw(text)) continue
      }
    }
    const decoded = decodeLine(text, profile)
    if (!decoded.ok) {
      const problem: Problem = {kind: decoded.kind, file, line, reason: decoded.reason}
      if (state) state.held = {problem, line: raw}
      else diagnostics.report(problem)
      continue
    }
    const located: LocatedEntry = {entry: decoded.entry, time: decoded.time, file, line, raw: text, profile: decoded.profile}
    if (!filter || filter.matches(located)) out.push(located)
  }
  return out
}

/**
 * Streams the matching entries of one file (from where `read` says), a non-empty batch per chunk
 * read; a bad line is reported once the line after it shows it was not recovered, or at the end.
 */
export async function* decodeFile(
  file: Pick<LogFile, 'path' | 'gzip'>,
  options: ReadOptions,
  diagnostics: Diagnostics,
  read: ReadFileOptions = {},
): AsyncGenerator<LocatedEntry[]> {
  const state: DecodeState = {}
  for await (const lines of readFileLines(file, diagnostics, read)) {
    const batch = decodeBatch(file.path, lines, options, diagnostics, state)
    if (batch.length > 0) yield batch
  }
  settleHeld(state, undefined, options.profile, diagnostics)
}

/**
 * Reads a listed file whole, as it is now: a plain part gzipped (and unlinked) since the listing is
 * read from its .gz. `begin` starts each form tried and returns what takes its lines. Resolves with
 * the diagnostics of the form that could be opened, or undefined when none could. An unterminated
 * last line that is a whole entry is taken, as the writer takes it.
 */
export async function readListedFile(file: LogFile, begin: (form: LogFile) => (text: string) => void): Promise<Diagnostics | undefined> {
  for (const form of currentForms(file)) {
    const diagnostics = new Diagnostics()
    const take = begin(form)
    for await (const batch of readFileLines(form, diagnostics, {wholeLastLine: true})) for (const {text} of batch) take(text)
    const {unreadable, encrypted} = diagnostics.counts()
    if (!unreadable && !encrypted) return diagnostics
  }
  return undefined
}

/** Streams the matching entries of the given files, in chain order, a batch per chunk read. */
export async function* readEntryBatches(files: LogFile[], options: ReadOptions = {}): AsyncGenerator<LocatedEntry[]> {
  const diagnostics = options.diagnostics ?? new Diagnostics()
  for (const file of files) yield* decodeFile(file, options, diagnostics, {needles: options.filter?.lineNeedles})
}

/** Streams the matching entries of a log directory in chain order. */
export async function* readEntries(dir: string, options: ReadOptions = {}): AsyncGenerator<LocatedEntry> {
  const files = await listLogFiles(dir, {since: options.filter?.since, until: options.filter?.until})
  for await (const batch of readEntryBatches(files, options)) yield* batch
}

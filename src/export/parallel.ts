import {closeSync, fstatSync, statSync} from 'node:fs'
import {availableParallelism} from 'node:os'
import {basename} from 'node:path'

import {compileFilter, type FilterSpec} from '../events/filter.js'
import type {CanonicalLine, LocatedEntry, Profile} from '../events/model.js'
import type {CodecContext} from '../formats/codec.js'
import {getCodec} from '../formats/registry.js'
import {decodeLine, readCanonical} from '../store/decode.js'
import {Diagnostics, type Problem} from '../store/diagnostics.js'
import {isWholeFileOnly, type LogFile, openRegularSync} from '../store/files.js'
import {countLineFeeds} from '../store/lines.js'
import {planRanges, readFully} from '../store/ranges.js'
import {type DecodeState, decodeBatch, type RawLine, readFileLines, settleHeld, settleHeldByClaim} from '../store/reader.js'
import {PARALLEL_BYTES, WorkerPool} from '../threads.js'
import {ByteChunks} from './byte-chunks.js'
import {exportCodecName, exportFormat} from './encode.js'
import {type PrivacyCounts, type PrivacyOptions, privacyTransform} from './privacy.js'
import type {Projection} from './project.js'

/*
 * Decoding (JSON.parse) is most of an export's work, so a large export to a file or stdout decodes
 * and encodes byte ranges of plain log files (gzip files whole) on worker threads while this thread
 * writes their text in log order. A range starts at a line start that is not an audit.recovery
 * record (store/ranges), so a held bad line is settled inside its range as the one-thread loop
 * settles it; lines are numbered from the range's start and renumbered here. The output bytes and
 * the diagnostics are the one-thread path's. A worker hands its range's output back as UTF-8 buffers it
 * transfers (no copy). Memory is bounded by the encoded bytes of the ranges in flight (two per
 * thread, so a thread never waits for the next, plus the one being written), not by the log's size.
 */

const RANGE_BYTES = 8 * 1024 * 1024

/** What a worker needs to encode a file exactly as runExport's own loop does. */
export interface FileExportJob {
  format: string
  formatOptions?: unknown
  context?: CodecContext
  projection?: Projection
  privacy?: PrivacyOptions
  filter: FilterSpec
  profile?: Profile
}

export interface FileExportTask {
  file: Pick<LogFile, 'path' | 'gzip'>
  /** Lines up to this one were exported before (--since-last resumes inside the first file). */
  afterLine: number
  /** A byte range of a plain file (lines numbered from its start); the whole file when absent. */
  range?: {start: number; end: number; last: boolean}
}

export interface Position {
  file: string
  line: number
  timestamp: string
  chain_hash: string | null
}

export interface FileExport {
  /**
   * The encoded records, UTF-8, in order: each on an ArrayBuffer of its own, moved to the caller
   * (a transfer, not a copy of the text).
   */
  bytes: Array<Uint8Array<ArrayBuffer>>
  count: number
  /** Lines in the range (its line feeds), to number the next range's lines on from. */
  lines: number
  first?: Position
  last?: Position
  diagnostics: ReturnType<Diagnostics['toJSON']>
  /**
   * Torn lines of a range not at the file's start, taken as recovered by the record after them,
   * which names them at `claimed`: true only if the range starts `claimed - problem.line` lines into
   * the file; else the problem stands (see parallelExport).
   */
  claims: Array<{claimed: number; problem: Problem}>
  privacy?: PrivacyCounts
}

const RECOVERY = '"audit.recovery"'

/** Where an entry is, as export states and results name it. */
export function position(located: LocatedEntry): Position {
  return {
    file: basename(located.file),
    line: located.line,
    timestamp: located.entry.timestamp,
    chain_hash: located.entry.chain_hash ?? null,
  }
}

/** A line in the writer's exact form that the format writes as bytes straight from its members (Encoder.encodeCanonical). */
interface ExactLine {
  raw: RawLine
  canonical: CanonicalLine
}

/** A problem held until the range's last line is known (exportFile's `settle`). */
class HeldDiagnostics extends Diagnostics {
  constructor(private readonly pending: Problem[]) {
    super()
  }

  override report(problem: Problem): void {
    this.pending.push(problem)
  }
}

/**
 * A job's filter and format, made once per thread: the functions a file's lines go through are then
 * the same ones for every file and range of the job, and V8's code for the calls to them stays valid.
 */
const prepared = new WeakMap<FileExportJob, {filter: ReturnType<typeof compileFilter>; format: ReturnType<typeof exportFormat>}>()
function prepare(job: FileExportJob) {
  let made = prepared.get(job)
  if (made === undefined) {
    made = {filter: compileFilter(job.filter), format: exportFormat(job.format, job.formatOptions, job.projection, job.context)}
    prepared.set(job, made)
  }
  return made
}

/** One file's matching entries, encoded and framed (records only: no begin or end). */
export async function exportFile(job: FileExportJob, task: FileExportTask): Promise<FileExport> {
  const {filter, format} = prepare(job)
  const privacy = job.privacy ? privacyTransform(job.privacy) : undefined
  // The bytes road takes a line in the writer's exact form when the filter needs no more of it than
  // its head (time, level, event, actor) and nothing changes the entry first; the reference is
  // decodeBatch's reading (decodeLine reads such a line by position, and its entry is kept or not by
  // filter.matches, which is matchesHead then).
  const matchesHead = filter.rawTest || privacy || job.profile === 'loki' ? undefined : filter.matchesHead
  const exact = matchesHead && format.encodeCanonical
  const {range} = task
  const end = range && !range.last ? range.end : undefined
  // Reading goes on to the end of the chunk that holds the range's end: its lines (and their
  // problems) past the range belong to the next range. The range's last line is known once the
  // read has passed its end, by counting the line feeds read beyond it.
  let limit = Number.POSITIVE_INFINITY
  const diagnostics = new Diagnostics()
  const pending: Problem[] = []
  const held = new HeldDiagnostics(pending)
  const settle = () => {
    for (const problem of pending) if (problem.line === undefined || problem.line <= limit) diagnostics.report(problem)
    pending.length = 0
  }
  const out = new ByteChunks()
  let count = 0
  let first: Position | undefined
  let last: LocatedEntry | ExactLine | undefined
  const options = {filter, profile: job.profile}
  const state: DecodeState = {}
  const cursor = range ? {offset: range.start, line: 0, skipping: false} : undefined
  // Lines numbered from a range's start cannot be matched to a recovery record's line number here.
  const claims: FileExport['claims'] = []
  const byClaim = range !== undefined && range.start > 0
  // decodeBatch, but for the lines the bytes road takes (none held before them: it settles a held line).
  const decodeLines = (raw: RawLine[]): Array<LocatedEntry | ExactLine> => {
    if (!exact) return decodeBatch(task.file.path, raw, options, held, state)
    const lines: Array<LocatedEntry | ExactLine> = []
    for (const line of raw) {
      if (state.held === undefined && line.bytes === undefined) {
        const canonical = readCanonical(line.text)
        if (canonical !== undefined) {
          if (matchesHead!(canonical.time, canonical)) lines.push({raw: line, canonical})
          continue
        }
      }
      for (const located of decodeBatch(task.file.path, [line], options, held, state)) lines.push(located)
    }
    return lines
  }
  const decode = (raw: RawLine[]): Array<LocatedEntry | ExactLine> => {
    const reported = pending.length
    const before = state.held
    const whole = decodeLines(raw)
    // Decoding is pure but for what it reports and holds: a batch that reported nothing, or holds no
    // record to excuse a torn line by, stands; else it is decoded again line by line.
    if (!byClaim || pending.length === reported || !raw.some((line) => line.text.includes(RECOVERY))) return whole
    pending.length = reported
    state.held = before
    const batch: Array<LocatedEntry | ExactLine> = []
    for (const line of raw) {
      const torn = state.held
      if (torn) {
        const claimed = settleHeldByClaim(state, line, line.line === torn.line.line + 1, job.profile, held)
        if (claimed !== undefined) claims.push({claimed, problem: torn.problem})
      }
      for (const located of decodeLines([line])) batch.push(located)
    }
    return batch
  }
  // What decodeBatch makes of the line, for the text road.
  const located = ({raw}: ExactLine): LocatedEntry => {
    const decoded = decodeLine(raw.text, job.profile)
    if (!decoded.ok) throw new Error(`${task.file.path}:${raw.line}: a line in the writer's form did not decode`)
    return {entry: decoded.entry, time: decoded.time, file: task.file.path, line: raw.line, raw: raw.text, profile: decoded.profile}
  }
  const lineOf = (item: LocatedEntry | ExactLine): number => ('canonical' in item ? item.raw.line : item.line)
  for await (let raw of readFileLines(task.file, held, {needles: filter.lineNeedles, cursor})) {
    const past = end !== undefined && cursor!.offset >= end
    if (past) {
      limit = cursor!.line - lineFeedsBetween(task.file.path, end, cursor!.offset)
      if (raw[raw.length - 1].line > limit) raw = raw.filter((line) => line.line <= limit)
    }
    settle()
    const batch = decode(raw)
    for (const item of batch) {
      if (lineOf(item) <= task.afterLine) continue
      // The index only matters to the JSON array's framing, which is never run here (see parallelExport).
      if (!('canonical' in item)) out.write(format.encode(privacy ? privacy.apply(item) : item, count + 1))
      else if (!exact!(item.canonical, out)) out.write(format.encode(located(item), count + 1))
      if (count === 0) first = positionOf(item)
      last = item
      count++
    }
    settle()
    if (past) break
  }
  function positionOf(item: LocatedEntry | ExactLine): Position {
    if (!('canonical' in item)) return position(item)
    const {canonical} = item
    return {file: basename(task.file.path), line: item.raw.line, timestamp: canonical.timestamp, chain_hash: canonical.chainHash ?? null}
  }
  // A range the read did not pass the end of (the file shrank) has the lines read.
  const lines = end === undefined ? 0 : Number.isFinite(limit) ? limit : cursor!.line
  settleHeld(state, undefined, job.profile, held)
  settle()
  return {
    bytes: out.finish(),
    count,
    lines,
    first,
    last: last && positionOf(last),
    diagnostics: diagnostics.toJSON(),
    claims,
    privacy: privacy?.counts,
  }
}

/** LF bytes in [start, end) of a file. */
function lineFeedsBetween(path: string, start: number, end: number): number {
  const fd = openRegularSync(path)
  try {
    const buf = Buffer.allocUnsafe(Math.min(1024 * 1024, end - start))
    let lines = 0
    for (let pos = start; pos < end; ) {
      const n = readFully(fd, buf, Math.min(buf.length, end - pos), pos)
      if (n === 0) break
      lines += countLineFeeds(buf, 0, n)
      pos += n
    }
    return lines
  } finally {
    closeSync(fd)
  }
}

/**
 * The units of work for `files`: byte ranges of each plain file, a gzip or age file whole, and the file a
 * --since-last state resumes in whole (its line numbers must be the file's own), as must every file
 * when the filter skips lines by needle (that choice is made on a range's first line).
 */
export function planTasks(
  files: Array<Pick<LogFile, 'path' | 'gzip'>>,
  afterLine: number,
  byNeedle: boolean,
  rangeBytes = RANGE_BYTES,
): FileExportTask[] {
  return files.flatMap((file, i) => {
    const whole = {file: {path: file.path, gzip: file.gzip}, afterLine: i === 0 ? afterLine : 0}
    if (isWholeFileOnly(file) || byNeedle || whole.afterLine > 0) return [whole]
    let fd: number
    try {
      fd = openRegularSync(file.path)
    } catch {
      return [whole] // reported as the one-thread loop reports it
    }
    try {
      const ranges = planRanges(fd, fstatSync(fd).size, rangeBytes)
      return ranges.map(({start, end}, r) => ({...whole, range: {start, end, last: r === ranges.length - 1}}))
    } finally {
      closeSync(fd)
    }
  })
}

/**
 * The threads for an export, or 0 to keep it on this thread: only when there are two cores, more
 * than one file and enough bytes to pay for starting threads, and a format whose records do not
 * depend on their position (the JSON array's first element has no comma).
 */
export function exportThreads(files: Array<Pick<LogFile, 'path'>>, format: string, parallelBytes = PARALLEL_BYTES): number {
  const threads = Math.min(availableParallelism(), 4, files.length)
  if (threads < 2) return 0
  if (getCodec(exportCodecName(format)).framing === 'json-array') return 0
  let bytes = 0
  for (const file of files) bytes += statSync(file.path, {throwIfNoEntry: false})?.size ?? 0
  return bytes >= parallelBytes ? threads : 0
}

/**
 * Exports the files on `threads` workers, yielding each file's result in log order as soon as it
 * and those before it are done; at most two tasks a thread are being worked on ahead of the one
 * yielded. Stopping the iteration ends the threads.
 */
export async function* parallelExport(job: FileExportJob, tasks: FileExportTask[], threads: number): AsyncGenerator<FileExport> {
  const pool = new WorkerPool<FileExportTask, FileExport>(threads, {
    name: 'encode-worker',
    from: import.meta.url,
    workerData: job,
  })
  const inFlight: Array<Promise<FileExport>> = []
  // Lines of the file's ranges before the one yielded, to number its lines from the file's start.
  let file = ''
  let before = 0
  let next = 0
  const top = () => {
    while (inFlight.length < 2 * threads && next < tasks.length) {
      const running = pool.run(tasks[next++])
      // Awaited in order below; a worker's failure while an earlier file is yielded is not unhandled.
      running.catch(() => undefined)
      inFlight.push(running)
    }
  }
  try {
    top()
    while (inFlight.length > 0) {
      const task = tasks[next - inFlight.length]
      const done = await inFlight.shift()!
      top()
      if (task.file.path !== file) {
        file = task.file.path
        before = 0
      }
      if (before > 0 || done.claims.length > 0) {
        const offset = before
        for (const at of [done.first, done.last]) if (at) at.line += offset
        const diagnostics = Diagnostics.fromJSON(done.diagnostics).renumbered((line) => line + offset)
        for (const {claimed, problem} of done.claims)
          if (claimed !== problem.line! + offset) diagnostics.report({...problem, line: problem.line! + offset})
        done.diagnostics = diagnostics.toJSON()
      }
      before += done.lines
      yield done
    }
  } finally {
    await pool.close()
  }
}

import {isUtf8} from 'node:buffer'
import {closeSync, fstatSync} from 'node:fs'
import {availableParallelism} from 'node:os'

import {type CompiledFilter, compileFilter, type FilterSpec} from '../events/filter.js'
import {type AuditEntry, LEVELS, type LocatedEntry, MAX_LINE_BYTES, type Profile} from '../events/model.js'
import {CanonicalBytes} from './canonical-bytes.js'
import {ByteInterner} from './intern.js'
import {decodeLine, readCanonical} from './decode.js'
import {holdsOverlongLine, planFile, readFully} from './ranges.js'
import {Diagnostics} from './diagnostics.js'
import {type LogFile, listLogFiles} from './files.js'
import {
  type DecodeState,
  decodeBatch,
  candidateLines,
  decodeFile,
  forEachCandidateLine,
  type RawLine,
  rawLine,
  type ReadOptions,
  readEntryBatches,
  searchKey,
  settleHeldByClaim,
} from './reader.js'
import {PARALLEL_BYTES, runTasks, WorkerPool} from '../threads.js'

/*
 * `search --count` on every core: plain files are cut into byte ranges (src/store/ranges.ts) that
 * threads count apart. A range looks only at the lines that can match (a needle or a backslash in
 * them, found with native searches) and does not number lines as it goes: a line is known by its
 * byte offset, and only a problem that is reported gets its line number, counted once at the end.
 */

/**
 * The canonical lines of a count are matched on their bytes (one matcher a thread), their names
 * looked up by their bytes (a log repeats them), and their members put here for the filter.
 */
const canonical = new CanonicalBytes()
const eventNames = new ByteInterner((text) => text)
const actorNames = new ByteInterner((text) => text)
const members: Pick<AuditEntry, 'event' | 'level' | 'actor'> = {event: '', level: 'info', actor: ''}

const BLOCK_BYTES = 4 * 1024 * 1024
/** A range is read in blocks that stay in a core's cache while they are searched (grown to BLOCK_BYTES for a long line). */
const READ_BYTES = 256 * 1024
const RANGE_BYTES = 16 * 1024 * 1024
const LF = 10
const NATIVE_START = Buffer.from('{"timestamp":"')

/** A byte range of a plain file, to count (`range`) or to find the matching lines of (`find`). */
interface RangeTask {
  path: string
  fd: number
  start: number
  end: number
  native: boolean
  filter: FilterSpec
}

export type CountTask = {kind: 'file'; file: LogFile; filter: FilterSpec} | ({kind: 'range' | 'find'} & RangeTask)

/** A range's count; its problems' `line` is the byte offset of the line in the file, and so are claims' `offset`. */
export interface CountResult {
  count: number
  diagnostics: ReturnType<Diagnostics['toJSON']>
  claims?: Array<{offset: number; claimed: number}>
  /** Met what only the reader handles exactly (an over-long line, a read error): count the file whole that way. */
  fallback?: boolean
  /** Problems are numbered by line already. */
  numbered?: boolean
}

/** Counts (or finds) the matches of one task on this thread. */
export async function runCountTask(task: CountTask, profile: Profile | undefined): Promise<CountResult | FindResult> {
  if (task.kind === 'file') return countFile(task.file, task.filter, profile)
  return task.kind === 'find' ? findRange(task, profile) : countRange(task, profile)
}

async function countFile(file: Pick<LogFile, 'path' | 'gzip'>, spec: FilterSpec, profile: Profile | undefined): Promise<CountResult> {
  const diagnostics = new Diagnostics()
  const filter = compileFilter(spec)
  let count = 0
  for await (const batch of decodeFile(file, {filter, profile}, diagnostics, {needles: filter.lineNeedles})) count += batch.length
  return {count, diagnostics: diagnostics.toJSON(), numbered: true}
}

/**
 * The filter of the ranges a thread is given, compiled once: its matcher is then one function
 * however many ranges the thread reads, and V8's code for the calls to it stays valid.
 */
let compiled: {spec: string; filter: CompiledFilter} | undefined
function filterOf(spec: FilterSpec): CompiledFilter {
  const key = JSON.stringify(spec)
  if (compiled?.spec !== key) compiled = {spec: key, filter: compileFilter(spec)}
  return compiled.filter
}

function countRange(task: RangeTask, profile: Profile | undefined): CountResult {
  const filter = filterOf(task.filter)
  const needles = task.native ? filter.lineNeedles?.map((n) => Buffer.from(searchKey(n))) : undefined
  const range = new RangeCount(task.path, filter, profile)
  let afterTorn = false // the last block ended with a maybe-torn candidate (forEachCandidateLine)

  /** A block of whole lines starting at file offset `base`; false when it holds an over-long line. */
  const scanBlock = (block: Buffer, base: number): boolean => {
    if (holdsOverlongLine(block, 0, block.length)) return false
    range.startBlock(block)
    if (!needles) {
      for (let from = 0, nl = block.indexOf(LF); nl >= 0; from = nl + 1, nl = block.indexOf(LF, from))
        range.take(block, from, nl, base + from)
      return true
    }
    // Only lines holding a needle or a backslash (an escape may hide a needle) can match.
    afterTorn = forEachCandidateLine(block, needles, (start, end) => range.take(block, start, end, base + start), afterTorn)
    return true
  }

  const ended = readRange(task, scanBlock)
  if (ended === 'fallback') return range.result(true)
  if (ended)
    range.diagnostics.report({
      kind: 'unterminated',
      file: task.path,
      line: ended.at,
      reason: `${ended.bytes} bytes without a final newline`,
    })
  range.settle(undefined)
  return range.result(false)
}

/**
 * One range's count, line by line. A class rather than closures over the range: the hot calls then
 * have one target however many ranges a thread counts, and V8 does not recompile them per range.
 */
class RangeCount {
  count = 0
  readonly diagnostics = new Diagnostics()
  private readonly claims: NonNullable<CountResult['claims']> = []
  private readonly read: ReadOptions
  /**
   * A line in the writer's exact form decodes (decodeLine reads it so): without --grep or --where,
   * whether it counts follows from the members read by position, without parsing the rest.
   */
  private readonly head: CompiledFilter['matchesHead']
  private readonly state: DecodeState = {}
  private heldEnd = -1 // file offset of the LF that ends the held line
  private utf8 = false // the block being scanned is valid UTF-8

  constructor(
    private readonly path: string,
    filter: CompiledFilter,
    private readonly profile: Profile | undefined,
  ) {
    this.read = {filter, profile}
    this.head = filter.rawTest === undefined && profile !== 'loki' ? filter.matchesHead : undefined
  }

  startBlock(block: Buffer): void {
    this.utf8 = this.head !== undefined && isUtf8(block)
  }

  /** One line, [start, end) of block, at file offset `at`; false when it is over the limit. */
  take(block: Buffer, start: number, end: number, at: number): boolean {
    if (end - start > MAX_LINE_BYTES) return false
    const {head, state} = this
    // The same members read in place, without the line's text: no torn line waits for this one to settle it.
    if (head && this.utf8 && !state.held && canonical.match(block, start) === end + 1) {
      members.event = eventNames.get(block, canonical.eventStart, canonical.eventEnd).text
      members.level = LEVELS[canonical.level]
      members.actor = actorNames.get(block, canonical.actorStart, canonical.actorEnd).text
      if (head(canonical.time, members)) this.count++
      return true
    }
    const raw = rawLine(block.subarray(start, end), at)
    if (!raw) return true
    this.settle(raw)
    const line = head && !raw.bytes ? readCanonical(raw.text) : undefined
    if (line) {
      if (head!(line.time, line)) this.count++
      return true
    }
    this.count += decodeBatch(this.path, [raw], this.read, this.diagnostics, state).length
    if (state.held) this.heldEnd = at + (end - start)
    return true
  }

  settle(next: RawLine | undefined): void {
    const offset = this.state.held?.line.line
    const claimed = settleHeldByClaim(this.state, next, next?.line === this.heldEnd + 1, this.profile, this.diagnostics)
    if (claimed !== undefined) this.claims.push({offset: offset!, claimed})
  }

  result(fallback: boolean): CountResult {
    return {count: this.count, diagnostics: this.diagnostics.toJSON(), claims: this.claims, fallback}
  }
}

/**
 * Hands a range's whole lines to `scan`, a block at a time with its file offset. 'fallback' when
 * scan answers false or the range cannot be read as blocks of lines (an over-long line, a read
 * error): only the reader handles those exactly. Else the unterminated last line of the file, if
 * the range ends with one (its offset and length).
 */
function readRange(
  task: {fd: number; start: number; end: number},
  scan: (block: Buffer, base: number) => boolean,
): 'fallback' | {at: number; bytes: number} | undefined {
  let buf = Buffer.allocUnsafe(READ_BYTES)
  try {
    for (let pos = task.start; pos < task.end; ) {
      const n = readFully(task.fd, buf, Math.min(buf.length, task.end - pos), pos)
      if (n === 0) break
      const last = buf.lastIndexOf(LF, n - 1)
      if (last < 0) {
        if (n === buf.length && buf.length < BLOCK_BYTES) {
          buf = Buffer.allocUnsafe(BLOCK_BYTES)
          continue
        }
        if (n === buf.length || n > MAX_LINE_BYTES) return 'fallback'
        return {at: pos, bytes: n}
      }
      if (!scan(buf.subarray(0, last + 1), pos)) return 'fallback'
      pos += last + 1
    }
  } catch {
    return 'fallback'
  }
  return undefined
}

/** The 1-based number of the line starting at `offset` of an open file. */
function lineAt(fd: number, offset: number): number {
  const buf = Buffer.allocUnsafe(BLOCK_BYTES)
  let lines = 1
  for (let pos = 0; pos < offset; ) {
    const n = readFully(fd, buf, Math.min(buf.length, offset - pos), pos)
    if (n === 0) break
    for (let i = buf.indexOf(LF); i >= 0 && i < n; i = buf.indexOf(LF, i + 1)) lines++
    pos += n
  }
  return lines
}

interface FilePlan {
  file: LogFile
  tasks: CountTask[]
  fd?: number
  diagnostics?: Diagnostics
}

function planCount(file: LogFile, filter: FilterSpec, rangeBytes: number, kind: 'range' | 'find' = 'range'): FilePlan {
  const plan = planFile(file, rangeBytes)
  if (plan.kind === 'whole') return {file, tasks: [{kind: 'file', file, filter}]}
  if (plan.kind === 'unreadable') return {file, tasks: [], diagnostics: plan.diagnostics}
  const {fd, ranges} = plan
  const head = Buffer.alloc(NATIVE_START.length)
  const native = readFully(fd, head, head.length, 0) === head.length && head.equals(NATIVE_START)
  const tasks: CountTask[] = ranges.map(({start, end}) => ({kind, path: file.path, fd, start, end, native, filter}))
  return {file, tasks, fd}
}

export interface CountOptions {
  filter: FilterSpec
  profile?: Profile
  diagnostics?: Diagnostics
  threads?: number
  parallelBytes?: number
  rangeBytes?: number
  /** Workers started before the work was known (startCountWorkers, same profile): used if there is work for them, closed in any case. */
  workers?: CountWorkers
}

export type CountWorkers = WorkerPool<CountTask, CountResult>

/**
 * The count's worker threads, one fewer than the cores, for a caller that knows early that it will
 * count: a worker takes some 60 ms to boot, and one started first thing takes its share of the
 * ranges sooner.
 */
export function startCountWorkers(profile?: Profile): CountWorkers {
  return new WorkerPool(availableParallelism() - 1, {name: 'count-worker', from: import.meta.url, workerData: {profile}})
}

/** How many entries of a log directory match, read on every core. */
export async function countMatches(dir: string, options: CountOptions): Promise<number> {
  const diagnostics = options.diagnostics ?? new Diagnostics()
  const spec = options.filter
  let started = options.workers
  let plans: FilePlan[] = []
  try {
    const files = await listLogFiles(dir, compileFilter(spec))
    plans = files.map((file) => planCount(file, spec, options.rangeBytes ?? RANGE_BYTES))
    let bytes = 0
    for (const plan of plans) if (plan.fd !== undefined) bytes += fstatSync(plan.fd).size
    const tasks = plans.flatMap((p) => p.tasks)
    const cores = bytes >= (options.parallelBytes ?? PARALLEL_BYTES) ? (options.threads ?? availableParallelism()) : 1
    const threads = Math.min(cores, tasks.length)
    // Workers started already are runTasks' to close when there is work for them.
    const workers = threads > 1 ? started : undefined
    if (workers) started = undefined
    const results = await runTasks(
      tasks,
      threads,
      (task) => runCountTask(task, options.profile) as Promise<CountResult>,
      {
        name: 'count-worker',
        from: import.meta.url,
        workerData: {profile: options.profile},
        decode: (r: CountResult) => r,
      },
      workers,
    )
    let total = 0
    let next = 0
    for (const plan of plans) {
      const parts = results.slice(next, next + plan.tasks.length)
      next += plan.tasks.length
      if (plan.diagnostics) {
        diagnostics.merge(plan.diagnostics)
        continue
      }
      const fd = plan.fd
      const valid = fd === undefined || parts.every((p) => !p.fallback && (p.claims ?? []).every((c) => lineAt(fd, c.offset) === c.claimed))
      if (!valid) {
        const whole = await countFile(plan.file, spec, options.profile)
        total += whole.count
        diagnostics.merge(Diagnostics.fromJSON(whole.diagnostics))
        continue
      }
      const fileProblems = new Diagnostics()
      for (const part of parts) {
        total += part.count
        fileProblems.merge(Diagnostics.fromJSON(part.diagnostics))
      }
      diagnostics.merge(fd === undefined || parts[0]?.numbered ? fileProblems : fileProblems.renumbered((offset) => lineAt(fd, offset)))
    }
    return total
  } finally {
    await started?.close()
    for (const plan of plans) if (plan.fd !== undefined) closeSync(plan.fd)
  }
}

/*
 * `search` (without --count) on every core, as the count: the threads find the matching lines of
 * byte ranges, numbering them from the range's start with line feeds counted in bulk between
 * candidates; this thread puts them out in log order, a range at a time, numbered on from the lines
 * of the ranges before. Only a few ranges are in flight, so memory does not grow with the log.
 */

/** Smaller than a count's ranges: a range's matches are held until it is its turn. */
const FIND_RANGE_BYTES = 4 * 1024 * 1024

/** The matching lines of a range, numbered from its start (1: its first line), and its problems numbered so. */
export interface FindResult {
  raws: string[]
  lines: number[]
  /** Line feeds in the range: the lines the next range's numbers start after. */
  lineCount: number
  diagnostics: ReturnType<Diagnostics['toJSON']>
  /** Torn lines excused by a recovery record that names their line: right only if the numbers agree. */
  claims: Array<{line: number; claimed: number}>
  /** Met what only the reader handles exactly: read the file on from this range's start that way. */
  fallback: boolean
}

function findRange(task: RangeTask, profile: Profile | undefined): FindResult {
  const {path} = task
  const filter = filterOf(task.filter)
  const needles = task.native ? filter.lineNeedles?.map((n) => Buffer.from(searchKey(n))) : undefined
  const diagnostics = new Diagnostics()
  const claims: FindResult['claims'] = []
  const raws: string[] = []
  const lines: number[] = []
  const read = {filter, profile}
  const state: DecodeState = {}
  let lineNo = 0 // lines passed since the range's start
  let afterTorn = false // the last block ended with a maybe-torn candidate (forEachCandidateLine)
  const result = (fallback: boolean): FindResult => ({raws, lines, lineCount: lineNo, diagnostics: diagnostics.toJSON(), claims, fallback})

  const settle = (next: RawLine | undefined) => {
    const held = state.held?.line.line
    const claimed = settleHeldByClaim(state, next, held !== undefined && next?.line === held + 1, profile, diagnostics)
    if (claimed !== undefined) claims.push({line: held!, claimed})
  }
  const take = (block: Buffer, start: number, end: number, line: number) => {
    const raw = rawLine(block.subarray(start, end), line)
    if (!raw) return
    settle(raw)
    for (const located of decodeBatch(path, [raw], read, diagnostics, state)) {
      raws.push(located.raw)
      lines.push(located.line)
    }
  }
  const scanBlock = (block: Buffer): boolean => {
    if (holdsOverlongLine(block, 0, block.length)) return false
    if (!needles) {
      for (let from = 0, nl = block.indexOf(LF); nl >= 0; from = nl + 1, nl = block.indexOf(LF, from)) take(block, from, nl, ++lineNo)
      return true
    }
    const first = lineNo
    const {ranges, lines: count, endsTorn} = candidateLines(block, needles, afterTorn)
    afterTorn = endsTorn
    for (const {start, end, index} of ranges) take(block, start, end, first + index + 1)
    lineNo = first + count
    return true
  }

  const ended = readRange(task, scanBlock)
  if (ended === 'fallback') return result(true)
  if (ended)
    diagnostics.report({kind: 'unterminated', file: path, line: lineNo + 1, reason: `${ended.bytes} bytes without a final newline`})
  settle(undefined)
  return result(false)
}

export interface FindOptions extends ReadOptions {
  /** The filter's spec, for the threads (`filter` is its compiled form). */
  spec?: FilterSpec
  threads?: number
  parallelBytes?: number
  rangeBytes?: number
}

/**
 * The matching entries of the files in chain order, a batch at a time, exactly as readEntryBatches
 * gives them (entries, numbers, problems), found on every core when there is enough to read.
 */
export async function* findEntryBatches(files: LogFile[], options: FindOptions = {}): AsyncGenerator<LocatedEntry[]> {
  const diagnostics = options.diagnostics ?? new Diagnostics()
  const {filter, profile, spec} = options
  const plans = spec ? files.map((file) => planCount(file, spec, options.rangeBytes ?? FIND_RANGE_BYTES, 'find')) : []
  let pool: WorkerPool<CountTask, FindResult> | undefined
  try {
    let bytes = 0
    for (const plan of plans) if (plan.fd !== undefined) bytes += fstatSync(plan.fd).size
    const threads = options.threads ?? availableParallelism()
    if (!spec || threads < 2 || bytes < (options.parallelBytes ?? PARALLEL_BYTES)) {
      yield* readEntryBatches(files, {filter, profile, diagnostics})
      return
    }
    // This thread decodes and hands out the matches, and what takes them encodes them: a core's work
    // when a search matches much. The other cores find them.
    const workers = new WorkerPool<CountTask, FindResult>(threads - 1, {name: 'count-worker', from: import.meta.url, workerData: {profile}})
    pool = workers
    // Every range in log order, each handed to a thread a few turns before its turn (two per thread).
    const tasks = plans.flatMap((plan) => plan.tasks)
    const answers: Array<Promise<FindResult> | undefined> = []
    const ahead = (from: number) => {
      for (let j = from; j < Math.min(tasks.length, from + 2 * workers.size); j++) {
        const task = tasks[j]
        if (task.kind === 'find' && answers[j] === undefined) answers[j] = workers.run(task)
      }
    }
    let i = 0
    for (const plan of plans) {
      if (plan.diagnostics) diagnostics.merge(plan.diagnostics)
      // The file's problems, told once it is read: the reader may take it over and tell them afresh.
      let fileProblems = new Diagnostics()
      let lineBase = 0 // lines of the file before the range
      let handedOver = false // the reader read the rest of the file
      for (const task of plan.tasks) {
        ahead(i)
        const answer = answers[i]
        answers[i++] = undefined
        if (task.kind === 'file') {
          yield* decodeFile(task.file, {filter, profile}, fileProblems, {needles: filter?.lineNeedles})
          continue
        }
        if (handedOver) {
          answer?.catch(() => undefined) // dropped: a failed thread is told by the answers still awaited
          continue
        }
        const found = await answer!
        if (found.fallback || found.claims.some((c) => c.claimed !== lineBase + c.line)) {
          // The reader reads the file again from its start (its problems are worded by where its
          // blocks fall), and what it finds from this range on is put out.
          handedOver = true
          fileProblems = new Diagnostics()
          const from = lineBase
          for await (const batch of decodeFile(plan.file, {filter, profile}, fileProblems, {needles: filter?.lineNeedles})) {
            const later = batch.filter((e) => e.line > from)
            if (later.length > 0) yield later
          }
          continue
        }
        const base = lineBase
        fileProblems.merge(Diagnostics.fromJSON(found.diagnostics).renumbered((line) => base + line))
        const batch: LocatedEntry[] = []
        for (let m = 0; m < found.raws.length; m++) {
          const raw = found.raws[m]
          const decoded = decodeLine(raw, profile)
          if (!decoded.ok) throw new Error(`${task.path}: a line found in a range did not decode again`)
          batch.push({
            entry: decoded.entry,
            time: decoded.time,
            file: task.path,
            line: base + found.lines[m],
            raw,
            profile: decoded.profile,
          })
        }
        lineBase += found.lineCount
        if (batch.length > 0) yield batch
      }
      diagnostics.merge(fileProblems)
    }
  } finally {
    await pool?.close()
    for (const plan of plans) if (plan.fd !== undefined) closeSync(plan.fd)
  }
}

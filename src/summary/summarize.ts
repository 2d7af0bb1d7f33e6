import {availableParallelism} from 'node:os'
import {closeSync} from 'node:fs'
import {basename} from 'node:path'

import {compileFilter, type FilterSpec} from '../events/filter.js'
import type {Profile} from '../events/model.js'
import {Diagnostics, type Problem} from '../store/diagnostics.js'
import {DAY_MS, DAY_SLACK_MS, dayStart, isWholeFileOnly, type LogFile, listLogFiles} from '../store/files.js'
import {type DecodeState, decodeBatch, readEntryBatches, readFileLines} from '../store/reader.js'
import {planFile} from '../store/ranges.js'
import {readLastEntries} from '../store/tail.js'
import {buildReport, SummaryAggregate, type SummaryReport} from './aggregate.js'
import {type CachedStart, type Extent, SummaryCache} from './cache.js'
import {type RangeSummary, type RangeTask, scanRange, summarizeLines} from './scan.js'

export interface SummarizeOptions {
  filter: FilterSpec
  profile?: Profile
  diagnostics?: Diagnostics
  topActors?: number
  /** Group the per-day histogram by the local calendar. */
  local?: boolean
  /** Directory for the per-file aggregate cache; undefined turns the cache off. */
  cacheDir?: string
  /** Most threads to use; default: the cores available. */
  threads?: number
  /** Least data (bytes to read) worth starting threads for; default 16 MiB. */
  parallelBytes?: number
  /** Size of the byte ranges plain files are cut into for threads; default 16 MiB. */
  rangeBytes?: number
  /** Called as each file that had to be read (not cached) is done. */
  onProgress?: (progress: {done: number; files: number}) => void
}

export interface FileSummary {
  aggregate: SummaryAggregate
  diagnostics: Diagnostics
}

/** Aggregates one file. */
export async function summarizeFile(file: LogFile, filter: FilterSpec, profile?: Profile): Promise<FileSummary> {
  const diagnostics = new Diagnostics()
  const aggregate = new SummaryAggregate()
  const name = basename(file.path)
  for await (const batch of readEntryBatches([file], {filter: compileFilter(filter), profile, diagnostics})) {
    for (const {entry, time, line} of batch) aggregate.add(entry, time, name, line)
  }
  return {aggregate, diagnostics}
}

/**
 * A unit of work: a whole file under any filter (the generic reader), a whole file under time bounds
 * only (the scan, through the reader: gzip), or a byte range of a plain file (the scan).
 */
export type SummaryTask =
  | {kind: 'file'; file: LogFile; filter: FilterSpec}
  | {kind: 'lines'; file: LogFile; since?: number; until?: number}
  | ({kind: 'range'} & RangeTask)

export type WireSummary = {
  aggregate: ReturnType<SummaryAggregate['toJSON']>
  diagnostics: ReturnType<Diagnostics['toJSON']>
  lines?: number
  claims?: RangeSummary['claims']
  fallback?: boolean
  end?: RangeSummary['end']
}

type TaskSummary = FileSummary & Partial<Pick<RangeSummary, 'lines' | 'claims' | 'fallback' | 'end'>>

/** Runs one task on this thread. */
export async function runSummaryTask(task: SummaryTask, profile?: Profile): Promise<TaskSummary> {
  if (task.kind === 'file') return summarizeFile(task.file, task.filter, profile)
  if (task.kind === 'lines') return summarizeLines(task.file, profile, task.since, task.until)
  return scanRange(task, profile)
}

export function toWire(summary: TaskSummary): WireSummary {
  return {...summary, aggregate: summary.aggregate.toJSON(), diagnostics: summary.diagnostics.toJSON()}
}

function fromWire(wire: WireSummary): TaskSummary {
  return {...wire, aggregate: SummaryAggregate.fromJSON(wire.aggregate), diagnostics: Diagnostics.fromJSON(wire.diagnostics)}
}

/** Byte ranges a plain file is cut into for the threads; small enough that two threads finish together. */
const RANGE_BYTES = 16 * 1024 * 1024

/** True when every entry a file can hold lies inside the range, so its whole-file aggregate applies. */
function wholeFileInRange(file: LogFile, filter: FilterSpec): boolean {
  const start = dayStart(file.day)
  return (
    (filter.since === undefined || start - DAY_SLACK_MS >= filter.since) &&
    (filter.until === undefined || start + DAY_MS + DAY_SLACK_MS <= filter.until)
  )
}

function onlyTimeBounds(filter: FilterSpec): boolean {
  return !filter.events?.length && !filter.level && !filter.actors?.length && !filter.where?.length && filter.grep === undefined
}

/**
 * Reads a log directory and builds the summary report. Files are aggregated apart and merged in
 * chain order: on several threads for large logs, and from a cache for files that have not
 * changed since they were last summarised (same inode, size, mtime and ctime).
 */
export async function summarize(dir: string, options: SummarizeOptions): Promise<SummaryReport> {
  const diagnostics = options.diagnostics ?? new Diagnostics()
  const spec = options.filter
  const files = await listLogFiles(dir, compileFilter(spec))
  const cache = options.cacheDir ? await SummaryCache.open(options.cacheDir, dir) : undefined
  const cacheable = onlyTimeBounds(spec)

  const results: Array<FileSummary | undefined> = []
  // Whole files are read without the time bounds, so their aggregates can be cached and reused.
  const todo: Array<{file: LogFile; filter: FilterSpec; size: number; index: number; key?: string; start?: CachedStart}> = []
  for (const [index, file] of files.entries()) {
    const {key, size} = await SummaryCache.identify(file.path)
    const wholeFile = cacheable && wholeFileInRange(file, spec)
    const hit = wholeFile && cache ? cache.get(file.name, key, options.profile) : undefined
    results.push(hit)
    if (hit) continue
    // A file that grew since (the newest, written to) is read from where its cached start ends.
    const start =
      wholeFile && cache && !isWholeFileOnly(file) ? await cache.start(file.name, file.path, key, size, options.profile) : undefined
    todo.push({
      file,
      filter: wholeFile ? {} : spec,
      size: size - (start?.extent.offset ?? 0),
      index,
      key: wholeFile ? key : undefined,
      start,
    })
  }

  const totalBytes = todo.reduce((n, t) => n + t.size, 0)
  // Loaded (with worker_threads) only when there is something to read: a summary from a warm cache is spared it.
  const threading = todo.length > 0 ? await import('../threads.js') : undefined
  const threads =
    threading && totalBytes >= (options.parallelBytes ?? threading.PARALLEL_BYTES) ? (options.threads ?? availableParallelism()) : 1
  const rangeBytes = threads > 1 ? (options.rangeBytes ?? RANGE_BYTES) : Number.POSITIVE_INFINITY
  // Each file's tasks, in order; a plain file is opened here once, its descriptor shared by the threads.
  const plans = todo.map((t) => planSummary(t.file, t.filter, cacheable, rangeBytes, t.start?.extent.offset))
  const tasks = plans.flatMap((p) => p.tasks)
  const left = plans.map((p) => p.tasks.length)
  const owner = plans.flatMap((p, i) => p.tasks.map(() => i))
  let done = 0
  const finished = (taskIndex: number) => {
    if (--left[owner[taskIndex]] === 0) options.onProgress?.({done: ++done, files: todo.length})
  }
  let taskIndex = 0
  const summaries = await (async () => {
    if (!threading) return []
    try {
      return await threading.runTasks(
        tasks.map((task) => ({task, index: taskIndex++})),
        Math.min(threads, tasks.length),
        async ({task, index}) => {
          const summary = await runSummaryTask(task, options.profile)
          finished(index)
          return summary
        },
        {
          name: 'worker',
          from: import.meta.url,
          workerData: {profile: options.profile},
          decode: (r: WireSummary & {index: number}) => {
            finished(r.index)
            return fromWire(r)
          },
        },
      )
    } finally {
      for (const plan of plans) if (plan.fd !== undefined) closeSync(plan.fd)
    }
  })()
  let next = 0
  const extents: Array<Extent | undefined> = []
  for (const [i, task] of todo.entries()) {
    const plan = plans[i]
    const parts = summaries.slice(next, next + plan.tasks.length)
    next += plan.tasks.length
    const joined = joinRanges(parts, plan.unreadable, task.start)
    extents[i] = joined?.extent
    results[task.index] = joined ?? (await summarizeLines(task.file, options.profile, task.filter.since, task.filter.until))
  }

  const total = new SummaryAggregate()
  for (const result of results) {
    total.merge(result!.aggregate)
    diagnostics.merge(result!.diagnostics)
  }
  if (cache) {
    // Encrypted files are not cached: the cache would keep their actors and IPs in plaintext (and,
    // read without the identity, an empty aggregate).
    for (const [i, task] of todo.entries())
      if (task.key && !task.file.age) cache.set(task.file.name, task.key, options.profile, results[task.index]!, extents[i])
    // Against the whole directory, not the range: a 24 h summary must not evict the other days.
    await cache.save((await listLogFiles(dir)).map((f) => f.name))
  }

  return buildReport(total, {
    since: spec.since,
    until: spec.until,
    present: await presentRange(dir, options.profile),
    files: files.map((f) => f.name),
    problems: diagnostics.counts(),
    topActors: options.topActors,
    local: options.local,
  })
}

/**
 * The times of the log's first and last entries (in chain order), whatever range is selected:
 * the first readable entry of the oldest file and the last of the newest. Problems met here are
 * not reported, as the report's own reading reports those in its range.
 */
async function presentRange(dir: string, profile?: Profile): Promise<{first?: number; last?: number}> {
  const files = await listLogFiles(dir)
  const read = {profile, diagnostics: new Diagnostics()}
  const {entries} = await readLastEntries(files, 1, {...read, numberLines: false}) // only its time is wanted
  return {first: await firstEntryTime(files, read), last: entries[0]?.time}
}

/** The time of the first entry readEntryBatches would give, decoding line by line only as far as it. */
async function firstEntryTime(files: LogFile[], read: {profile?: Profile; diagnostics: Diagnostics}): Promise<number | undefined> {
  for (const file of files) {
    const state: DecodeState = {}
    for await (const lines of readFileLines(file, read.diagnostics))
      for (const raw of lines) {
        const [entry] = decodeBatch(file.path, [raw], read, read.diagnostics, state)
        if (entry) return entry.time
      }
  }
  return undefined
}

export const DEFAULT_WINDOW_MS = 86_400_000

/**
 * The default range: the last 24 hours, or, when the log ended before that (an archived or
 * shipped copy), the last 24 hours of the log, so the report is never empty for a log that has entries.
 */
export async function defaultRange(
  dir: string,
  now: number,
  profile?: Profile,
): Promise<{since: number; until?: number; logEnded: boolean; unreadable?: Problem}> {
  const files = await listLogFiles(dir)
  const diagnostics = new Diagnostics()
  const {entries} = await readLastEntries(files, 1, {profile, diagnostics, numberLines: false}) // only its time is wanted
  // A newest file that could not be read was passed over: the range may miss it, which the caller must tell.
  const unreadable = diagnostics.toJSON().find(([kind]) => kind === 'unreadable')?.[2]
  const newest = entries[0]?.time
  if (newest !== undefined && newest < now - DEFAULT_WINDOW_MS)
    return {since: newest + 1 - DEFAULT_WINDOW_MS, until: newest + 1, logEnded: true, unreadable}
  return {since: now - DEFAULT_WINDOW_MS, logEnded: false, unreadable}
}

interface SummaryPlan {
  tasks: SummaryTask[]
  fd?: number
  /** The file could not be opened: its whole summary. */
  unreadable?: FileSummary
}

/** The tasks that aggregate one file (from `from` on): byte ranges of a plain file under time bounds, else the whole file. */
function planSummary(file: LogFile, filter: FilterSpec, scan: boolean, rangeBytes: number, from?: number): SummaryPlan {
  const {since, until} = filter
  if (!scan) return {tasks: [{kind: 'file', file, filter}]}
  const plan = planFile(file, rangeBytes, from)
  if (plan.kind === 'whole') return {tasks: [{kind: 'lines', file, since, until}]}
  if (plan.kind === 'unreadable') return {tasks: [], unreadable: {aggregate: new SummaryAggregate(), diagnostics: plan.diagnostics}}
  const {fd, ranges} = plan
  return {fd, tasks: ranges.map(({start, end}) => ({kind: 'range', path: file.path, name: file.name, fd, start, end, since, until}))}
}

/**
 * One file's summary from its tasks' (in file order), after its cached start if it has one: lines
 * renumbered by the lines before. Undefined when a range fell back, or a recovery claim does not
 * hold where its range turned out to start: the file is then read whole by the reader. `extent`:
 * where the file's scan ended cleanly, for the cache.
 */
function joinRanges(parts: TaskSummary[], unreadable?: FileSummary, start?: CachedStart): (FileSummary & {extent?: Extent}) | undefined {
  if (unreadable) return unreadable
  if (parts.length === 1 && parts[0].lines === undefined) return parts[0]
  const aggregate = start?.summary.aggregate ?? new SummaryAggregate()
  const diagnostics = start?.summary.diagnostics ?? new Diagnostics()
  let base = start?.extent.lines ?? 0
  let extent = start?.extent
  for (const part of parts) {
    if (part.fallback) return undefined
    for (const claim of part.claims ?? []) if (base + claim.line !== claim.claimed) return undefined
    const shift = base
    part.aggregate.latestFailures = part.aggregate.latestFailures.map((f) => ({...f, line: f.line + shift}))
    aggregate.merge(part.aggregate)
    diagnostics.merge(part.diagnostics.renumbered((line) => line + shift))
    base += part.lines ?? 0
    // A range of nothing (nothing appended) leaves the end where it was.
    const empty = part.lines === 0 && part.diagnostics.total === 0
    if (!empty) extent = part.end && {...part.end, lines: base}
  }
  return {aggregate, diagnostics, extent}
}

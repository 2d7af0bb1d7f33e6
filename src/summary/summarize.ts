import {availableParallelism} from 'node:os'
import {basename} from 'node:path'

import {compileFilter, type FilterSpec} from '../events/filter.js'
import type {Profile} from '../events/model.js'
import {Diagnostics, type Problem} from '../store/diagnostics.js'
import {DAY_MS, DAY_SLACK_MS, dayStart, type LogFile, listLogFiles} from '../store/files.js'
import {readEntryBatches} from '../store/reader.js'
import {readLastEntries} from '../store/tail.js'
import {PARALLEL_BYTES, runTasks} from '../threads.js'
import {buildReport, SummaryAggregate, type SummaryReport} from './aggregate.js'
import {SummaryCache} from './cache.js'

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

/** A file to aggregate and the filter to aggregate it under. */
export interface SummaryTask {
  file: LogFile
  filter: FilterSpec
}

export type WireSummary = {aggregate: ReturnType<SummaryAggregate['toJSON']>; diagnostics: ReturnType<Diagnostics['toJSON']>}

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
  const todo: Array<SummaryTask & {size: number; index: number; key?: string}> = []
  for (const [index, file] of files.entries()) {
    const {key, size} = await SummaryCache.identify(file.path)
    const wholeFile = cacheable && wholeFileInRange(file, spec)
    const hit = wholeFile && cache ? cache.get(file.name, key, options.profile) : undefined
    results.push(hit)
    if (!hit) todo.push({file, filter: wholeFile ? {} : spec, size, index, key: wholeFile ? key : undefined})
  }

  const totalBytes = todo.reduce((n, t) => n + t.size, 0)
  const threads =
    totalBytes >= (options.parallelBytes ?? PARALLEL_BYTES) ? Math.min(options.threads ?? availableParallelism(), todo.length) : 1
  let done = 0
  const finished = <T>(result: T): T => {
    options.onProgress?.({done: ++done, files: todo.length})
    return result
  }
  const summaries = await runTasks(todo, threads, async (t) => finished(await summarizeFile(t.file, t.filter, options.profile)), {
    name: 'worker',
    from: import.meta.url,
    workerData: {profile: options.profile},
    decode: (r: WireSummary) =>
      finished({aggregate: SummaryAggregate.fromJSON(r.aggregate), diagnostics: Diagnostics.fromJSON(r.diagnostics)}),
  })
  todo.forEach((task, i) => {
    results[task.index] = summaries[i]
  })

  const total = new SummaryAggregate()
  for (const result of results) {
    total.merge(result!.aggregate)
    diagnostics.merge(result!.diagnostics)
  }
  if (cache) {
    for (const task of todo) if (task.key) cache.set(task.file.name, task.key, options.profile, results[task.index]!)
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
  let first: number | undefined
  for await (const batch of readEntryBatches(files, read)) {
    first = batch[0].time
    break
  }
  const {entries} = await readLastEntries(files, 1, {...read, numberLines: false}) // only its time is wanted
  return {first, last: entries[0]?.time}
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

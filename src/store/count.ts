import {closeSync, fstatSync} from 'node:fs'
import {availableParallelism} from 'node:os'

import {type CompiledFilter, compileFilter, type FilterSpec} from '../events/filter.js'
import {MAX_LINE_BYTES, type Profile} from '../events/model.js'
import {holdsOverlongLine, planFile, readFully} from './ranges.js'
import {Diagnostics} from './diagnostics.js'
import {type LogFile, listLogFiles} from './files.js'
import {
  type DecodeState,
  decodeBatch,
  decodeFile,
  forEachCandidateLine,
  type RawLine,
  rawLine,
  searchKey,
  settleHeldByClaim,
} from './reader.js'
import {PARALLEL_BYTES, runTasks} from '../threads.js'

/*
 * `search --count` on every core: plain files are cut into byte ranges (src/store/ranges.ts) that
 * threads count apart. A range looks only at the lines that can match (a needle or a backslash in
 * them, found with native searches) and does not number lines as it goes: a line is known by its
 * byte offset, and only a problem that is reported gets its line number, counted once at the end.
 */

const BLOCK_BYTES = 4 * 1024 * 1024
/** A range is read in blocks that stay in a core's cache while they are searched (grown to BLOCK_BYTES for a long line). */
const READ_BYTES = 256 * 1024
const RANGE_BYTES = 16 * 1024 * 1024
const LF = 10
const NATIVE_START = Buffer.from('{"timestamp":"')

export type CountTask =
  | {kind: 'file'; file: LogFile; filter: FilterSpec}
  | {kind: 'range'; path: string; fd: number; start: number; end: number; native: boolean; filter: FilterSpec}

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

/** Counts the matches of one task on this thread. */
export async function runCountTask(task: CountTask, profile: Profile | undefined): Promise<CountResult> {
  if (task.kind === 'file') return countFile(task.file, task.filter, profile)
  return countRange(task, profile)
}

async function countFile(file: Pick<LogFile, 'path' | 'gzip'>, spec: FilterSpec, profile: Profile | undefined): Promise<CountResult> {
  const diagnostics = new Diagnostics()
  const filter = compileFilter(spec)
  let count = 0
  for await (const batch of decodeFile(file, {filter, profile}, diagnostics, {needles: filter.lineNeedles})) count += batch.length
  return {count, diagnostics: diagnostics.toJSON(), numbered: true}
}

function countRange(task: Extract<CountTask, {kind: 'range'}>, profile: Profile | undefined): CountResult {
  const {path, fd} = task
  const filter: CompiledFilter = compileFilter(task.filter)
  const needles = task.native ? filter.lineNeedles?.map((n) => Buffer.from(searchKey(n))) : undefined
  const diagnostics = new Diagnostics()
  const claims: NonNullable<CountResult['claims']> = []
  const read = {filter, profile}
  const state: DecodeState = {}
  let heldEnd = -1 // file offset of the LF that ends the held line
  let count = 0
  const result = (fallback: boolean): CountResult => ({count, diagnostics: diagnostics.toJSON(), claims, fallback})

  const settle = (next: RawLine | undefined) => {
    const offset = state.held?.line.line
    const claimed = settleHeldByClaim(state, next, next?.line === heldEnd + 1, profile, diagnostics)
    if (claimed !== undefined) claims.push({offset: offset!, claimed})
  }

  /** One line, [start, end) of block, at file offset `at`; false when it is over the limit. */
  const take = (block: Buffer, start: number, end: number, at: number): boolean => {
    if (end - start > MAX_LINE_BYTES) return false
    const raw = rawLine(block.subarray(start, end), at)
    if (!raw) return true
    settle(raw)
    count += decodeBatch(path, [raw], read, diagnostics, state).length
    if (state.held) heldEnd = at + (end - start)
    return true
  }

  /** A block of whole lines starting at file offset `base`; false when it holds an over-long line. */
  const scanBlock = (block: Buffer, base: number): boolean => {
    if (holdsOverlongLine(block, 0, block.length)) return false
    if (!needles) {
      for (let from = 0, nl = block.indexOf(LF); nl >= 0; from = nl + 1, nl = block.indexOf(LF, from)) take(block, from, nl, base + from)
      return true
    }
    // Only lines holding a needle or a backslash (an escape may hide a needle) can match.
    forEachCandidateLine(block, needles, (start, end) => take(block, start, end, base + start))
    return true
  }

  let buf = Buffer.allocUnsafe(READ_BYTES)
  try {
    for (let pos = task.start; pos < task.end; ) {
      const n = readFully(fd, buf, Math.min(buf.length, task.end - pos), pos)
      if (n === 0) break
      const last = buf.lastIndexOf(LF, n - 1)
      if (last < 0) {
        if (n === buf.length && buf.length < BLOCK_BYTES) {
          buf = Buffer.allocUnsafe(BLOCK_BYTES)
          continue
        }
        if (n === buf.length || n > MAX_LINE_BYTES) return result(true)
        diagnostics.report({kind: 'unterminated', file: path, line: pos, reason: `${n} bytes without a final newline`})
        break
      }
      if (!scanBlock(buf.subarray(0, last + 1), pos)) return result(true)
      pos += last + 1
    }
  } catch {
    return result(true)
  }
  settle(undefined)
  return result(false)
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

function planCount(file: LogFile, filter: FilterSpec, rangeBytes: number): FilePlan {
  const plan = planFile(file, rangeBytes)
  if (plan.kind === 'whole') return {file, tasks: [{kind: 'file', file, filter}]}
  if (plan.kind === 'unreadable') return {file, tasks: [], diagnostics: plan.diagnostics}
  const {fd, ranges} = plan
  const head = Buffer.alloc(NATIVE_START.length)
  const native = readFully(fd, head, head.length, 0) === head.length && head.equals(NATIVE_START)
  const tasks: CountTask[] = ranges.map(({start, end}) => ({kind: 'range', path: file.path, fd, start, end, native, filter}))
  return {file, tasks, fd}
}

export interface CountOptions {
  filter: FilterSpec
  profile?: Profile
  diagnostics?: Diagnostics
  threads?: number
  parallelBytes?: number
  rangeBytes?: number
}

/** How many entries of a log directory match, read on every core. */
export async function countMatches(dir: string, options: CountOptions): Promise<number> {
  const diagnostics = options.diagnostics ?? new Diagnostics()
  const spec = options.filter
  const files = await listLogFiles(dir, compileFilter(spec))
  const plans = files.map((file) => planCount(file, spec, options.rangeBytes ?? RANGE_BYTES))
  let bytes = 0
  for (const plan of plans) if (plan.fd !== undefined) bytes += fstatSync(plan.fd).size
  const threads = bytes >= (options.parallelBytes ?? PARALLEL_BYTES) ? (options.threads ?? availableParallelism()) : 1
  const tasks = plans.flatMap((p) => p.tasks)
  let results: CountResult[]
  try {
    results = await runTasks(tasks, Math.min(threads, tasks.length), (task) => runCountTask(task, options.profile), {
      name: 'count-worker',
      from: import.meta.url,
      workerData: {profile: options.profile},
      decode: (r: CountResult) => r,
    })
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
    for (const plan of plans) if (plan.fd !== undefined) closeSync(plan.fd)
  }
}

import {isUtf8} from 'node:buffer'

import {sha256Hex} from '../chain/hash.js'
import type {CompiledFilter} from '../events/filter.js'
import {LEVELS, MAX_LINE_BYTES, type Profile} from '../events/model.js'
import {readFully} from '../store/ranges.js'
import {Diagnostics} from '../store/diagnostics.js'
import type {LogFile} from '../store/files.js'
import {type DecodeState, decodeBatch, type RawLine, readFileLines, settleHeld, settleHeldByClaim} from '../store/reader.js'
import {groupKey} from '../privacy/sealed-form.js'
import {bump, isFailedAction, ownCopy, SLOT_MS, SummaryAggregate} from './aggregate.js'
import {ByteInterner, type Interned} from '../store/intern.js'
import {bytesLine, CANONICAL_LINE, COUNTED_MODEL, countedDetails, leanFields, matchCanonicalBytes} from './lean.js'

const BLOCK_BYTES = 2 * 1024 * 1024
/** Bytes before a range's end that fingerprint it (RangeEnd). */
export const TAIL_BYTES = 4096
const LF = 10

let block: Buffer | undefined
/** The thread's read buffer, reused from range to range. */
function blockBuffer(): Buffer {
  block ??= Buffer.allocUnsafe(BLOCK_BYTES)
  return block
}

/** One byte range of a plain file to aggregate; `fd` is open in this process (threads share it). */
export interface RangeTask {
  path: string
  name: string
  fd: number
  start: number
  end: number
  since?: number
  until?: number
}

/**
 * What a range gave, its lines numbered from the range's start. `claims` are torn lines taken as
 * recovered by a record naming them at `claimed`: true only if the range starts `claimed - line`
 * lines into the file, which the caller checks. `fallback`: the range met what only the reader
 * handles exactly (an over-long line, a read error); the file must be read whole that way.
 */
export interface RangeSummary {
  aggregate: SummaryAggregate
  diagnostics: Diagnostics
  lines: number
  claims: Array<{line: number; claimed: number}>
  fallback: boolean
  /** Set when the range ended cleanly (see RangeEnd). */
  end?: RangeEnd
}

/**
 * Where a range's scan ended, after an LF and with no bad line left waiting for the line after it:
 * a scan of what was appended since, from `offset`, continues it exactly. `tailHash` is the SHA-256
 * of the bytes [tailFrom, offset), to tell the file has not been rewritten.
 */
export interface RangeEnd {
  offset: number
  tailFrom: number
  tailHash: string
}

function timeFilter(since?: number, until?: number): CompiledFilter {
  return {since, until, matches: ({time}) => (since === undefined || time >= since) && (until === undefined || time < until)}
}

/** Counts a canonical line, read by position; false when its timestamp is not a real time. */
function addLean(aggregate: SummaryAggregate, match: RegExpExecArray, name: string, line: number, since?: number, until?: number): boolean {
  const fields = leanFields(match)
  if (!fields) return false
  const {time} = fields
  if ((since !== undefined && time < since) || (until !== undefined && time >= until)) return true
  const counted = countedDetails(fields.details)
  if (counted)
    for (const ip of counted.ips) {
      const key = groupKey(ip)
      if (!aggregate.ips.has(key)) aggregate.ips.add(ownCopy(key))
    }
  aggregate.addFields(time, fields.timestamp, fields.event, fields.level, fields.actor, counted?.model, name, line)
  return true
}

/** The names the lean counts know by their bytes, kept by the thread from range to range. */
const events = new ByteInterner((text) => text)
const actors = new ByteInterner(groupKey)
const models = new ByteInterner((text) => text)
const addresses = new ByteInterner(groupKey)
let epochs = 0

/**
 * The canonical lines of one range (bytesLine, as matched), counted into its aggregate as
 * SummaryAggregate.addFields would: names by their interned entries, the 15-minute slot as a run.
 * finish() adds the counts to the aggregate; failures go to it as they come, keeping their order.
 */
class LeanCounts {
  private readonly epoch = ++epochs
  private readonly touched: Array<{entries: Interned[]; into: Map<string, number>}>
  private readonly levels = LEVELS.map(() => 0)
  private slot = Number.NaN
  private slotCount = 0

  constructor(
    private readonly aggregate: SummaryAggregate,
    private readonly name: string,
  ) {
    this.touched = [aggregate.byEvent, aggregate.byActor, aggregate.byModel].map((into) => ({entries: [], into}))
  }

  /** Counts the line bytesLine holds, read from `buf`. */
  add(buf: Buffer, lineNo: number): void {
    const {time, countedStart, countedEnd} = bytesLine
    const aggregate = this.aggregate
    aggregate.total++
    if (time < aggregate.first) aggregate.first = time
    if (time > aggregate.last) aggregate.last = time
    const event = this.count(0, events.get(buf, bytesLine.eventStart, bytesLine.eventEnd))
    const actor = this.count(1, actors.get(buf, bytesLine.actorStart, bytesLine.actorEnd))
    this.levels[bytesLine.level]++
    // Mostly the slot of the line before: tested without a (floating-point) remainder.
    if (!(this.slot >= 0 && time >= this.slot && time < this.slot + SLOT_MS)) {
      const slot = time - (time % SLOT_MS)
      if (slot !== this.slot) {
        this.endSlot()
        this.slot = slot
      }
    }
    this.slotCount++
    for (let i = 0; i < COUNTED_MODEL; i++) {
      const start = countedStart[i]
      if (start < 0 || countedEnd[i] === start) continue
      const address = addresses.get(buf, start, countedEnd[i])
      if (address.epoch !== this.epoch) {
        address.epoch = this.epoch
        aggregate.ips.add(address.key)
      }
    }
    const modelStart = countedStart[COUNTED_MODEL]
    if (modelStart >= 0 && countedEnd[COUNTED_MODEL] > modelStart) {
      aggregate.withModel++
      this.count(2, models.get(buf, modelStart, countedEnd[COUNTED_MODEL]))
    }
    event.failed ??= isFailedAction(event.text)
    const level = LEVELS[bytesLine.level]
    if (level === 'error' || event.failed) {
      aggregate.failures++
      const timestamp = buf.toString('latin1', bytesLine.timestampStart, bytesLine.timestampStart + 24)
      aggregate.noteFailure({timestamp, event: event.text, level, actor: actor.key, file: this.name, line: lineNo}, time)
    }
  }

  /** Adds the counts kept here to the aggregate. */
  finish(): void {
    this.endSlot()
    for (const [index, count] of this.levels.entries()) if (count > 0) bump(this.aggregate.byLevel, LEVELS[index], count)
    this.levels.fill(0)
    for (const {entries, into} of this.touched) {
      for (const entry of entries) bump(into, entry.key, entry.count)
      entries.length = 0
    }
  }

  private count(kind: number, entry: Interned): Interned {
    if (entry.epoch !== this.epoch) {
      entry.epoch = this.epoch
      entry.count = 0
      this.touched[kind].entries.push(entry)
    }
    entry.count++
    return entry
  }

  private endSlot(): void {
    if (this.slotCount > 0) bump(this.aggregate.bySlot, this.slot, this.slotCount)
    this.slotCount = 0
  }
}

/** Aggregates one byte range of a plain file: canonical lines by position, every other line through the full decoder. */
export function scanRange(task: RangeTask, profile: Profile | undefined): RangeSummary {
  const {path, name, fd, since, until} = task
  const aggregate = new SummaryAggregate()
  const diagnostics = new Diagnostics()
  const claims: RangeSummary['claims'] = []
  const counts = new LeanCounts(aggregate, name)
  const result = (fallback: boolean): RangeSummary => {
    counts.finish()
    return {aggregate, diagnostics, lines: line, claims, fallback}
  }
  const read = {filter: timeFilter(since, until), profile}
  const state: DecodeState = {}
  // A forced loki profile reads every line as loki-mode: nothing is canonical then.
  const lean = profile !== 'loki'
  let line = 0

  /** Settles a held bad line by the line after it; a recovery record's line number is taken on trust, as a claim. */
  const settle = (next: RawLine | undefined) => {
    const line = state.held?.line.line
    const claimed = settleHeldByClaim(state, next, next?.line === (line ?? 0) + 1, profile, diagnostics)
    if (claimed !== undefined) claims.push({line: line!, claimed})
  }

  const takeFull = (raw: RawLine) => {
    settle(raw)
    for (const located of decodeBatch(path, [raw], read, diagnostics, state)) aggregate.add(located.entry, located.time, name, located.line)
  }

  /** Lines of a block of whole lines; false when one is over the limit. */
  const scanBlock = (block: Buffer): boolean => {
    if (!isUtf8(block)) {
      for (let from = 0, nl = block.indexOf(LF); nl >= 0; from = nl + 1, nl = block.indexOf(LF, from)) {
        line++
        const bytes = block.subarray(from, nl)
        if (bytes.length > MAX_LINE_BYTES) return false
        if (!isUtf8(bytes)) takeFull({text: '', line, bytes: Buffer.from(bytes)})
        else {
          const text = bytes.toString('utf8')
          if (text.trim() !== '') takeFull({text, line})
        }
      }
      return true
    }
    // Canonical lines are matched and counted on the bytes; only other lines become strings.
    for (let pos = 0; pos < block.length; ) {
      line++
      if (lean) {
        const next = matchCanonicalBytes(block, pos)
        if (next >= 0) {
          if (next - 1 - pos > MAX_LINE_BYTES) return false
          if (state.held) settle({text: block.toString('utf8', pos, next - 1), line})
          const {time} = bytesLine
          if ((since === undefined || time >= since) && (until === undefined || time < until)) counts.add(block, line)
          pos = next
          continue
        }
      }
      const nl = block.indexOf(LF, pos)
      if (nl - pos > MAX_LINE_BYTES) return false
      const raw = block.toString('utf8', pos, nl)
      pos = nl + 1
      if (raw.trim() !== '') takeFull({text: raw, line})
    }
    return true
  }

  const buf = blockBuffer()
  let pos = task.start
  /** The bytes just before `pos`, as the end's fingerprint. */
  let tail: {from: number; bytes: Buffer} | undefined
  try {
    while (pos < task.end) {
      const n = readFully(fd, buf, Math.min(buf.length, task.end - pos), pos)
      if (n === 0) break // the file shrank since it was planned: read as far as it goes, as the reader does
      const last = buf.lastIndexOf(LF, n - 1)
      if (last < 0) {
        // No LF: a line longer than a block, or the file's unterminated last line.
        if (n === buf.length || n > MAX_LINE_BYTES) return result(true)
        // Reported before a held bad line is settled, as the reader does.
        diagnostics.report({kind: 'unterminated', file: path, line: line + 1, reason: `${n} bytes without a final newline`})
        break
      }
      if (!scanBlock(buf.subarray(0, last + 1))) return result(true)
      const tailBytes = Math.min(last + 1, TAIL_BYTES)
      tail = {from: pos + last + 1 - tailBytes, bytes: buf.subarray(last + 1 - tailBytes, last + 1)}
      pos += last + 1
    }
  } catch {
    return result(true)
  }
  // Ended after an LF, no bad line waiting for the line after it: what follows can be scanned alone.
  const end = pos === task.end && !state.held && tail ? {offset: pos, tailFrom: tail.from, tailHash: sha256Hex(tail.bytes)} : undefined
  settle(undefined)
  return {...result(false), end}
}

/** Aggregates a whole file through the reader (gzip files, and plain files a range could not take): canonical lines still read lean. */
export async function summarizeLines(
  file: Pick<LogFile, 'path' | 'gzip' | 'name'>,
  profile: Profile | undefined,
  since?: number,
  until?: number,
) {
  const aggregate = new SummaryAggregate()
  const diagnostics = new Diagnostics()
  const read = {filter: timeFilter(since, until), profile}
  const state: DecodeState = {}
  for await (const batch of readFileLines(file, diagnostics)) {
    for (const raw of batch) {
      if (!raw.bytes && profile !== 'loki') {
        const match = CANONICAL_LINE.exec(raw.text)
        if (match !== null) {
          if (state.held) settleHeld(state, raw, profile, diagnostics)
          if (addLean(aggregate, match, file.name, raw.line, since, until)) continue
        }
      }
      for (const located of decodeBatch(file.path, [raw], read, diagnostics, state))
        aggregate.add(located.entry, located.time, file.name, located.line)
    }
  }
  settleHeld(state, undefined, profile, diagnostics)
  return {aggregate, diagnostics}
}

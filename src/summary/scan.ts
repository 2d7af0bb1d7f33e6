import {isUtf8} from 'node:buffer'

import type {CompiledFilter} from '../events/filter.js'
import {MAX_LINE_BYTES, type Profile} from '../events/model.js'
import {readFully} from '../store/ranges.js'
import {Diagnostics} from '../store/diagnostics.js'
import type {LogFile} from '../store/files.js'
import {type DecodeState, decodeBatch, type RawLine, readFileLines, settleHeld, settleHeldByClaim} from '../store/reader.js'
import {groupKey} from '../privacy/sealed-form.js'
import {ownCopy, SummaryAggregate} from './aggregate.js'
import {CANONICAL_LINE, CANONICAL_LINE_IN_BLOCK, countedDetails, leanFields} from './lean.js'

const BLOCK_BYTES = 2 * 1024 * 1024
/** Text decoded at a time: below V8's large-object size. */
const TEXT_PIECE_BYTES = 64 * 1024
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

/** Aggregates one byte range of a plain file: canonical lines by position, every other line through the full decoder. */
export function scanRange(task: RangeTask, profile: Profile | undefined): RangeSummary {
  const {path, name, fd, since, until} = task
  const aggregate = new SummaryAggregate()
  const diagnostics = new Diagnostics()
  const claims: RangeSummary['claims'] = []
  const result = (fallback: boolean): RangeSummary => ({aggregate, diagnostics, lines: line, claims, fallback})
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

  /** Whole lines of valid text; false when one is over the limit. */
  const scanText = (text: string): boolean => {
    const canonical = CANONICAL_LINE_IN_BLOCK
    for (let pos = 0; pos < text.length; ) {
      line++
      if (lean) {
        canonical.lastIndex = pos
        const match = canonical.exec(text)
        if (match !== null) {
          const next = canonical.lastIndex
          if (next - pos > MAX_LINE_BYTES / 4 && Buffer.byteLength(text.slice(pos, next - 1)) > MAX_LINE_BYTES) return false
          if (state.held) settle({text: text.slice(pos, next - 1), line})
          if (addLean(aggregate, match, name, line, since, until)) {
            pos = next
            continue
          }
        }
      }
      const nl = text.indexOf('\n', pos)
      const raw = text.slice(pos, nl)
      pos = nl + 1
      if (raw.length > MAX_LINE_BYTES / 4 && Buffer.byteLength(raw) > MAX_LINE_BYTES) return false
      if (raw.trim() !== '') takeFull({text: raw, line})
    }
    return true
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
    // Decoded a piece of whole lines at a time: small strings die young, where a block-sized one
    // would wait for a full collection and the heap would grow with the log.
    for (let from = 0; from < block.length; ) {
      let to = Math.min(block.length, from + TEXT_PIECE_BYTES)
      if (to < block.length) {
        const lf = block.lastIndexOf(LF, to - 1)
        to = lf >= from ? lf + 1 : block.indexOf(LF, to) + 1
      }
      if (!scanText(block.toString('utf8', from, to))) return false
      from = to
    }
    return true
  }

  const buf = blockBuffer()
  try {
    for (let pos = task.start; pos < task.end; ) {
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
      pos += last + 1
    }
  } catch {
    return result(true)
  }
  settle(undefined)
  return result(false)
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

import {fstatSync, readSync} from 'node:fs'

import {MAX_LINE_BYTES} from '../events/model.js'
import {Diagnostics} from './diagnostics.js'
import {describeFsErrorWithCode, isWholeFileOnly, type LogFile, openRegularSync} from './files.js'

/*
 * Byte ranges of a plain log file as units of work for several threads. A range starts just after
 * an LF, and never at an `audit.recovery` record: a torn line and the record that accounts for it
 * stay in one range, so each range can settle them alone. A range's lines are numbered from its
 * start; the caller adds the lines of the ranges before it (see Renumbering).
 */

export interface ByteRange {
  start: number
  end: number
}

/** Bytes read around a planned cut to find a line start; a cut without one there is dropped. */
const CUT_WINDOW = 64 * 1024
const RECOVERY = Buffer.from('"audit.recovery"')
const LF = 10

/** Reads up to buf.length bytes at `position`; fewer only at the end of the file. */
export function readFully(fd: number, buf: Buffer, length: number, position: number): number {
  let done = 0
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done)
    if (n === 0) break
    done += n
  }
  return done
}

/** Splits [from, size) of an open file (`from` a line start) into ranges of about `pieceBytes`, cut at line starts. */
export function planRanges(fd: number, size: number, pieceBytes: number, from = 0): ByteRange[] {
  const cuts = [from]
  const window = Buffer.allocUnsafe(CUT_WINDOW)
  for (let target = from + pieceBytes; target < size; target += pieceBytes) {
    const cut = lineStartAfter(fd, window, target, size)
    if (cut !== undefined && cut > cuts[cuts.length - 1] && cut < size) cuts.push(cut)
  }
  cuts.push(size)
  return cuts.slice(1).map((end, i) => ({start: cuts[i], end}))
}

/**
 * How one log file is read by several threads: a plain file is opened here (its descriptor for the
 * threads to share; the caller closes it) and cut into byte ranges; a gzip file can only be read
 * whole, from its start; a file that cannot be opened is a problem to report.
 */
export type FilePlan =
  | {kind: 'ranges'; fd: number; size: number; ranges: ByteRange[]}
  | {kind: 'whole'}
  | {kind: 'unreadable'; diagnostics: Diagnostics}

/** `from`: plan only what lies after this line start (the rest is known). */
export function planFile(file: Pick<LogFile, 'path' | 'gzip'>, rangeBytes: number, from = 0): FilePlan {
  if (isWholeFileOnly(file)) return {kind: 'whole'}
  let fd: number
  try {
    fd = openRegularSync(file.path)
  } catch (error) {
    const diagnostics = new Diagnostics()
    diagnostics.report({kind: 'unreadable', file: file.path, reason: describeFsErrorWithCode(error)})
    return {kind: 'unreadable', diagnostics}
  }
  const {size} = fstatSync(fd)
  return {kind: 'ranges', fd, size, ranges: planRanges(fd, size, rangeBytes, Math.min(from, size))}
}

/** The first line start at or after `target` that does not begin an audit.recovery record. */
function lineStartAfter(fd: number, window: Buffer, target: number, size: number): number | undefined {
  const from = target - 1 // an LF just before the target makes the target itself a line start
  const n = readFully(fd, window, Math.min(window.length, size - from), from)
  let lf = window.subarray(0, n).indexOf(LF)
  while (lf >= 0) {
    const next = window.subarray(0, n).indexOf(LF, lf + 1)
    // The line after the cut must be seen whole to tell it is not a recovery record.
    if (next < 0) return from + lf + 1 === size ? size : undefined
    if (!window.subarray(lf + 1, next).includes(RECOVERY)) return from + lf + 1
    lf = next
  }
  return undefined
}

/**
 * True when [from, to) of `block` holds a line longer than MAX_LINE_BYTES. Probes every half
 * limit, so lines that are not otherwise visited (a needle scan skips them) cost nothing each.
 */
export function holdsOverlongLine(block: Buffer, from: number, to: number): boolean {
  for (let probe = from; probe < to; probe += MAX_LINE_BYTES / 2) {
    const start = probe === 0 ? 0 : block.lastIndexOf(LF, probe - 1) + 1
    const end = block.indexOf(LF, probe)
    if ((end < 0 ? block.length : end) - Math.max(start, 0) > MAX_LINE_BYTES) return true
  }
  return false
}

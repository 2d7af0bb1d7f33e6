import {isUtf8} from 'node:buffer'
import {type FileHandle, stat} from 'node:fs/promises'

import type {LocatedEntry} from '../events/model.js'
import {Diagnostics} from './diagnostics.js'
import {describeFsErrorWithCode, isWholeFileOnly, type LogFile, openRegular} from './files.js'
import {BackwardFramer, countFileLineFeeds} from './lines.js'
import {decodeBatch, decodeFile, type DecodeState, type RawLine, type ReadOptions, settleHeld} from './reader.js'

/** What reading the last entries takes besides what reading takes. */
export interface LastOptions extends ReadOptions {
  /**
   * Number the entries' lines from the file's start (the default), which reads the newest file
   * whole to count them. When false, `line` is the rank from the file's end, negated (-1: the
   * last line): for callers that show no line numbers. Problems are always numbered from the start.
   */
  numberLines?: boolean
}

/** Where reading stopped in the newest file, so following can go on from exactly there. */
export interface FilePosition {
  path: string
  /** Byte offset just after the last complete line read (a gzip file's size: it is closed, so read whole). */
  offset: number
  ino: number
  /** The number of lines before `offset`, when reading counted them (a follower counts them otherwise). */
  line?: number
}

/**
 * The last `n` matching entries of a plain file, read backwards from `end` in blocks, so the cost
 * depends on n, not on the file's size. An unterminated last line (a write in progress) is left
 * for a follower. A line over MAX_LINE_BYTES is reported and passed over without being kept, so a
 * huge line costs time linear in its length and no more memory than one line may hold.
 */
async function lastOfPlainFile(
  file: LogFile,
  n: number,
  options: LastOptions,
  diagnostics: Diagnostics,
): Promise<{entries: LocatedEntry[]; end: FilePosition}> {
  let handle: FileHandle
  try {
    handle = await openRegular(file.path)
  } catch (error) {
    // Reported, and the older files are still read; a follower goes on after it (it will not be able to read it either).
    diagnostics.report({kind: 'unreadable', file: file.path, reason: describeFsErrorWithCode(error)})
    const info = await stat(file.path).catch(() => undefined)
    return {entries: [], end: {path: file.path, offset: info?.size ?? 0, ino: info?.ino ?? 0}}
  }
  try {
    const info = await handle.stat()
    const framer = new BackwardFramer(
      (buffer, length, position) => handle.read(buffer, 0, length, position).then((r) => r.bytesRead),
      info.size,
    )
    const matched: Array<{entry: LocatedEntry; rank: number}> = []
    // Problems are met with lines numbered back from the end (-1 is the last); renumbered at the end.
    const backwards = new Diagnostics()
    const state: DecodeState = {}
    let later: RawLine | undefined // the first line of the block read before: it follows this block's last
    while (framer.end < 0 || matched.length < n) {
      const found = await framer.previous()
      if (!found) break
      if (matched.length >= n) break // n = 0: only the end was wanted
      const lines: RawLine[] = []
      // Over-long lines are reported right to left, as they are met.
      for (let i = found.length - 1; i >= 0; i--) {
        const f = found[i]
        if ('overLong' in f) backwards.report({kind: 'too-long', file: file.path, line: -f.rank, reason: `${f.overLong} bytes`})
      }
      for (const f of found) {
        // Lines that are not UTF-8 are not shown; `audit search` and `audit summary` report them with their numbers.
        if ('overLong' in f || !isUtf8(f.bytes)) continue
        const text = f.bytes.toString('utf8')
        if (text.trim() !== '') lines.push({text, line: -f.rank})
      }
      // Decoded from the block's end in slices, each twice the last, until n matched: a block holds
      // some 200 lines and 20 are wanted, and decoding is most of what tail does after start-up.
      // Lines before the earliest entry shown are not decoded, so their problems are not reported.
      let size = n - matched.length
      for (let upto = lines.length; upto > 0 && matched.length < n; size *= 2) {
        const slice = lines.slice(Math.max(0, upto - size), upto)
        upto -= slice.length
        // In file order, so a torn line is settled by the line after it (the slice decoded before holds the one after the last).
        const entries = decodeBatch(file.path, slice, options, backwards, state)
        settleHeld(state, later, options.profile, backwards)
        later = slice[0]
        for (let i = entries.length - 1; i >= 0; i--) matched.push({entry: entries[i], rank: -entries[i].line})
      }
    }

    // Line numbers: the lines before the earliest one collected, plus its rank from the end.
    const chosen = matched.slice(0, n)
    const {end} = framer
    let totalComplete: number | undefined
    if (backwards.total > 0 || (chosen.length > 0 && options.numberLines !== false)) {
      const lines = end < 0 ? 0 : countFileLineFeeds(handle.fd, end)
      if (options.numberLines !== false) for (const m of chosen) m.entry.line = lines - m.rank + 1
      diagnostics.merge(backwards.renumbered((line) => lines + line + 1))
      totalComplete = lines
    }
    const position: FilePosition = {path: file.path, offset: Math.max(end, 0), ino: info.ino}
    if (totalComplete !== undefined) position.line = totalComplete
    return {entries: chosen.map((m) => m.entry).reverse(), end: position}
  } finally {
    await handle.close()
  }
}

/** The last `n` matching entries of a gzip file: it must be read whole, keeping only n. */
async function lastOfGzipFile(file: LogFile, n: number, options: ReadOptions, diagnostics: Diagnostics): Promise<LocatedEntry[]> {
  // Trimmed only once it holds 2n: trimming at every batch would move n entries a batch.
  let kept: LocatedEntry[] = []
  for await (const batch of decodeFile(file, options, diagnostics)) {
    for (const entry of batch) kept.push(entry)
    if (kept.length > 2 * n) kept = kept.slice(-n)
  }
  return kept.length > n ? kept.slice(-n) : kept
}

/**
 * The last `n` matching entries across the files (in chain order), newest file first, and the
 * position after the last complete line of the newest file.
 */
export async function readLastEntries(
  files: LogFile[],
  n: number,
  options: LastOptions = {},
): Promise<{entries: LocatedEntry[]; end?: FilePosition}> {
  const diagnostics = options.diagnostics ?? new Diagnostics()
  const parts: LocatedEntry[][] = []
  let count = 0
  let end: FilePosition | undefined
  // The newest file is always visited, for the end a follower goes on from.
  for (let i = files.length - 1; i >= 0 && (count < n || i === files.length - 1); i--) {
    const file = files[i]
    let entries: LocatedEntry[]
    if (isWholeFileOnly(file)) {
      entries = n > count ? await lastOfGzipFile(file, n - count, options, diagnostics) : []
      if (i === files.length - 1) {
        const info = await stat(file.path)
        end = {path: file.path, offset: info.size, ino: info.ino}
      }
    } else {
      const result = await lastOfPlainFile(file, n - count, options, diagnostics)
      entries = result.entries
      if (i === files.length - 1) end = result.end
    }
    parts.unshift(entries)
    count += entries.length
  }
  return {entries: parts.flat(), end}
}

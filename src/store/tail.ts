import {isUtf8} from 'node:buffer'
import {type FileHandle, stat} from 'node:fs/promises'

import {type LocatedEntry, MAX_LINE_BYTES} from '../events/model.js'
import {Diagnostics} from './diagnostics.js'
import {describeFsErrorWithCode, type LogFile, openRegular} from './files.js'
import {countFileLineFeeds, decodeBatch, decodeFile, type DecodeState, type RawLine, type ReadOptions, settleHeld} from './reader.js'

const BLOCK = 64 * 1024

/** Where reading stopped in the newest file, so following can go on from exactly there. */
export interface FilePosition {
  path: string
  /** Byte offset just after the last complete line read (a gzip file's size: it is closed, so read whole). */
  offset: number
  ino: number
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
  options: ReadOptions,
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
    const block = Buffer.allocUnsafe(BLOCK)
    let pos = info.size
    let tail = Buffer.alloc(0) // the partial line after pos, with the LF that ends it
    let skipping = -1 // inside an over-long line whose start is not found yet: the offset of its LF
    let end = -1 // offset after the last LF
    const found: Array<{text: string; offset: number}> = []
    const matched: Array<{entry: LocatedEntry; rank: number}> = []
    let passed = 0 // complete lines passed from the end

    // Problems are met with lines numbered back from the end (-1 is the last); renumbered at the end.
    const backwards = new Diagnostics()
    const state: DecodeState = {}
    let later: RawLine | undefined // the first line of the block read before: it follows this block's last
    const tooLong = (bytes: number) => {
      passed++
      backwards.report({kind: 'too-long', file: file.path, line: -passed, reason: `${bytes} bytes`})
    }
    const take = (lineBytes: Buffer, offset: number) => {
      if (lineBytes.length > MAX_LINE_BYTES) return tooLong(lineBytes.length)
      passed++
      // Not shown; `audit search` and `audit summary` report such lines with their numbers.
      if (!isUtf8(lineBytes)) return
      found.push({text: lineBytes.toString('utf8'), offset})
    }

    while (pos > 0 && (end < 0 || matched.length < n)) {
      const size = Math.min(BLOCK, pos)
      pos -= size
      await handle.read(block, 0, size, pos)
      let buf: Buffer
      if (end < 0 || skipping >= 0) {
        // Nothing after this block is kept: the unterminated end, or the rest of an over-long line.
        const lastLf = block.lastIndexOf(10, size - 1)
        if (lastLf < 0) {
          if (skipping >= 0 && pos === 0) tooLong(skipping)
          continue
        }
        if (end < 0) end = pos + lastLf + 1
        else tooLong(skipping - (pos + lastLf + 1))
        skipping = -1
        buf = Buffer.from(block.subarray(0, lastLf + 1))
      } else {
        buf = Buffer.concat([block.subarray(0, size), tail])
      }
      if (matched.length >= n) break // n = 0: only the end was wanted
      // Split off complete lines from the right; keep the leftmost partial line for the next block.
      found.length = 0
      let right = buf.length - 1 // index of the LF ending the current line
      for (let lf = buf.lastIndexOf(10, right - 1); lf >= 0; lf = buf.lastIndexOf(10, right - 1)) {
        take(buf.subarray(lf + 1, right), pos + lf + 1)
        right = lf
      }
      tail = Buffer.from(buf.subarray(0, right + 1))
      if (pos === 0 && right >= 0) {
        take(buf.subarray(0, right), 0)
        tail = Buffer.alloc(0)
      } else if (right > MAX_LINE_BYTES) {
        skipping = pos + right
        tail = Buffer.alloc(0)
      }
      const startRank = passed - found.length
      // In file order, so a torn line is settled by the line after it (the block read before holds the one after the last).
      const lines: RawLine[] = found
        .map((f, i) => ({text: f.text, line: -(startRank + i + 1)}))
        .filter((l) => l.text.trim() !== '')
        .reverse()
      const entries = decodeBatch(file.path, lines, options, backwards, state)
      settleHeld(state, later, options.profile, backwards)
      if (lines.length > 0) later = lines[0]
      for (let i = entries.length - 1; i >= 0; i--) matched.push({entry: entries[i], rank: -entries[i].line})
    }

    // Line numbers: the lines before the earliest one collected, plus its rank from the end.
    const chosen = matched.slice(0, n)
    if (chosen.length > 0 || backwards.total > 0) {
      const totalComplete = end < 0 ? 0 : countFileLineFeeds(handle.fd, end)
      for (const m of chosen) m.entry.line = totalComplete - m.rank + 1
      diagnostics.merge(backwards.renumbered((line) => totalComplete + line + 1))
    }
    return {entries: chosen.map((m) => m.entry).reverse(), end: {path: file.path, offset: Math.max(end, 0), ino: info.ino}}
  } finally {
    await handle.close()
  }
}

/** The last `n` matching entries of a gzip file: it must be read whole, keeping only n. */
async function lastOfGzipFile(file: LogFile, n: number, options: ReadOptions, diagnostics: Diagnostics): Promise<LocatedEntry[]> {
  const ring: LocatedEntry[] = []
  for await (const batch of decodeFile(file, options, diagnostics)) {
    ring.push(...batch)
    if (ring.length > n) ring.splice(0, ring.length - n)
  }
  return ring
}

/**
 * The last `n` matching entries across the files (in chain order), newest file first, and the
 * position after the last complete line of the newest file.
 */
export async function readLastEntries(
  files: LogFile[],
  n: number,
  options: ReadOptions = {},
): Promise<{entries: LocatedEntry[]; end?: FilePosition}> {
  const diagnostics = options.diagnostics ?? new Diagnostics()
  const parts: LocatedEntry[][] = []
  let count = 0
  let end: FilePosition | undefined
  // The newest file is always visited, for the end a follower goes on from.
  for (let i = files.length - 1; i >= 0 && (count < n || i === files.length - 1); i--) {
    const file = files[i]
    let entries: LocatedEntry[]
    if (file.gzip) {
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

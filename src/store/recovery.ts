import {isUtf8} from 'node:buffer'
import {closeSync, openSync, readSync} from 'node:fs'

import {sha256Hex} from '../chain/hash.js'
import {splitChainedLine} from '../chain/native.js'
import {decodeLine} from './decode.js'
import {type LogFile, openRegularSync} from './files.js'
import {countFileLineFeeds, readListedFile} from './reader.js'

/** What the end of the live file says, read from its tail only. */
export interface Tail {
  /** Hash of the last chained line in the file; undefined when the file holds none. */
  head?: string
  /** An unterminated last line that is not a whole entry: a write torn by a crash. */
  fragment?: {offset: number; bytes: Buffer}
  /** The last line is a whole entry and lacks only its LF. */
  missingNewline: boolean
  /** The last complete line is a loki-mode entry: the file is another writer's. */
  lokiMode?: boolean
}

const FIRST_WINDOW = 64 * 1024

function readRange(fd: number, start: number, end: number): Buffer {
  const buf = Buffer.allocUnsafe(end - start)
  let done = 0
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, start + done)
    if (n === 0) break
    done += n
  }
  return buf.subarray(0, done)
}

function isWholeEntry(bytes: Buffer): boolean {
  return isUtf8(bytes) && decodeLine(bytes.toString('utf8')).ok
}

/**
 * Reads a file backwards from its end, in a window that doubles until it holds what is needed:
 * the torn last line if any, and (with `wantHead`) the last chained line. A file that is appended
 * to for days is never read whole, unless it holds no chained line at all.
 */
export function readTail(path: string, size: number, wantHead: boolean): Tail {
  const fd = openRegularSync(path)
  try {
    for (let window = FIRST_WINDOW; ; window *= 2) {
      const start = Math.max(0, size - window)
      const buf = readRange(fd, start, size)
      const tail = scan(buf, start, wantHead)
      if (tail) return tail
    }
  } finally {
    closeSync(fd)
  }
}

/** Scans a window that ends at the end of the file; undefined when the window must grow. */
function scan(buf: Buffer, start: number, wantHead: boolean): Tail | undefined {
  const tail: Tail = {missingNewline: false}
  let end = buf.length
  if (end > 0 && buf[end - 1] !== 10) {
    const lf = buf.lastIndexOf(10)
    if (lf < 0 && start > 0) return undefined
    const bytes = buf.subarray(lf + 1)
    if (isWholeEntry(bytes)) {
      tail.missingNewline = true
    } else {
      tail.fragment = {offset: start + lf + 1, bytes: Buffer.from(bytes)}
      end = lf + 1
    }
  }
  // Complete lines, newest first; a line counts only once its start is inside the window.
  let lineEnd = buf[end - 1] === 10 ? end - 1 : end
  for (let newest = true; lineEnd > 0; newest = false) {
    const lf = buf.lastIndexOf(10, lineEnd - 1)
    if (lf < 0 && start > 0) return undefined
    const text = buf.toString('utf8', lf + 1, lineEnd)
    if (newest) {
      const decoded = decodeLine(text)
      if (decoded.ok && decoded.profile === 'loki') return {...tail, lokiMode: true}
      if (!wantHead) return tail
    }
    const split = splitChainedLine(text)
    if (split) return {...tail, head: split.hash}
    lineEnd = Math.max(lf, 0)
  }
  return tail
}

/** 1-based line number of the line starting at `offset` (counts LFs before it). */
export function lineNumberAt(path: string, offset: number): number {
  const fd = openSync(path, 'r')
  try {
    return 1 + countFileLineFeeds(fd, offset)
  } finally {
    closeSync(fd)
  }
}

/** The details of the `audit.recovery` event for a torn line (the contract shared with verify). */
export function recoveryDetails(fileName: string, line: number, fragment: Buffer): Record<string, unknown> {
  return {
    file: fileName,
    line,
    fragment_bytes: fragment.length,
    fragment_sha256: sha256Hex(fragment),
  }
}

/** The last chain hash in a whole file (plain or gzip); for the rare file whose tail holds none. */
export async function lastChainHash(file: LogFile): Promise<string | undefined> {
  let head: string | undefined
  const read = await readListedFile(file, () => {
    head = undefined
    return (text) => {
      head = splitChainedLine(text)?.hash ?? head
    }
  })
  // Chaining from an older file instead would fork the chain.
  if (!read) throw new Error(`${file.path}: cannot be read to find the chain head`)
  return head
}

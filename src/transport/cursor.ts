import {closeSync, fdatasyncSync, openSync, readFileSync, readSync, renameSync, statSync, writeSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'

import {AuditError} from '../errors.js'
import type {LocatedEntry} from '../events/model.js'
import {describeFsError, listLogFiles, parseLogFileName} from '../store/files.js'
import {decodeFile} from '../store/reader.js'
import {followEntries, type FollowOptions} from '../store/follow.js'

/** The last entry handed over: its file (and inode, which a rotation into a part keeps), line and chain hash. */
export interface CursorRecord {
  file: string
  line: number
  ino?: number
  chain_hash?: string
}

/**
 * `--cursor FILE`: where forwarding got to, rewritten (temp + rename, 0600) after every batch the
 * sink has taken, so a restart resumes after it. At-least-once: entries handed over after the last
 * save are sent again.
 */
export class CursorFile {
  constructor(readonly path: string) {}

  read(): CursorRecord | undefined {
    let text: string
    try {
      text = readFileSync(this.path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw new AuditError(`--cursor ${this.path}: ${describeFsError(error)}`)
    }
    let record: Partial<CursorRecord>
    try {
      record = JSON.parse(text) as Partial<CursorRecord>
    } catch {
      record = {}
    }
    if (typeof record.file !== 'string' || !Number.isSafeInteger(record.line) || (record.line as number) < 1) {
      throw new AuditError(
        `--cursor ${this.path}: not a cursor file (expected JSON with file and line); remove it to start from the end of the log`,
      )
    }
    return record as CursorRecord
  }

  save(located: LocatedEntry): void {
    const record: CursorRecord = {file: located.file, line: located.line, ino: statSync(located.file, {throwIfNoEntry: false})?.ino}
    if (located.entry.chain_hash) record.chain_hash = located.entry.chain_hash
    const temp = join(dirname(this.path), `.${basename(this.path)}.tmp`)
    try {
      const fd = openSync(temp, 'w', 0o600)
      try {
        writeSync(fd, `${JSON.stringify(record)}\n`)
        fdatasyncSync(fd)
      } finally {
        closeSync(fd)
      }
      renameSync(temp, this.path)
    } catch (error) {
      throw new AuditError(`--cursor ${this.path}: ${describeFsError(error)}`)
    }
  }
}

/** The byte offset after line `line` of a plain file and that line's text, or undefined when it has fewer lines. */
function lineEnd(path: string, line: number): {offset: number; text: string} | undefined {
  const fd = openSync(path, 'r')
  try {
    const chunk = Buffer.allocUnsafe(64 * 1024)
    let seen = 0
    let start = 0
    for (let pos = 0; ; ) {
      const n = readSync(fd, chunk, 0, chunk.length, pos)
      if (n === 0) return undefined
      for (let i = chunk.indexOf(10); i >= 0 && i < n; i = chunk.indexOf(10, i + 1)) {
        if (++seen === line) {
          const end = pos + i
          const text = Buffer.allocUnsafe(end - start)
          readSync(fd, text, 0, text.length, start)
          return {offset: end + 1, text: text.toString()}
        }
        start = pos + i + 1
      }
      pos += n
    }
  } finally {
    closeSync(fd)
  }
}

/**
 * The entries after a cursor: first any the cursor's file still holds (found by path and inode,
 * or by chain hash in its gzipped copy), then everything appended after, followed as `followEntries`
 * does. A cursor whose entry is not where it says (another chain hash there) is an error.
 */
export async function* entriesAfterCursor(
  dir: string,
  cursor: CursorRecord,
  origin: string,
  options: Omit<FollowOptions, 'start'>,
): AsyncGenerator<LocatedEntry[]> {
  const place = parseLogFileName(basename(cursor.file))
  if (!place) throw new AuditError(`${origin}: ${cursor.file} is not a log file name; remove the cursor to start from the end of the log`)
  const files = await listLogFiles(dir)
  const sameDay = files.filter((f) => f.day === place.day)
  const plain = [cursor.file, ...sameDay.filter((f) => !f.gzip).map((f) => f.path)]
  const found = plain.find((path) =>
    cursor.ino === undefined
      ? path === cursor.file && statSync(path, {throwIfNoEntry: false})
      : statSync(path, {throwIfNoEntry: false})?.ino === cursor.ino,
  )
  if (found) {
    const end = lineEnd(found, cursor.line)
    if (!end || (cursor.chain_hash && !end.text.includes(cursor.chain_hash))) {
      throw new AuditError(
        `${origin}: ${found}:${cursor.line} is not the entry the cursor recorded${cursor.chain_hash ? ' (chain hash differs)' : ''}; remove the cursor to start from the end of the log`,
      )
    }
    yield* followEntries(dir, {...options, start: {path: found, offset: end.offset, ino: statSync(found).ino}})
    return
  }
  // Gone from its plain file: compressed since (the chain hash finds it in the copy), or removed.
  if (cursor.chain_hash) {
    for (const file of sameDay.filter((f) => f.gzip)) {
      let after = false
      let inFile = false
      for await (const batch of decodeFile(file, options, options.diagnostics)) {
        if (!after) {
          const at = batch.findIndex((l) => l.entry.chain_hash === cursor.chain_hash)
          if (at < 0) continue
          after = true
          inFile = true
          batch.splice(0, at + 1)
        }
        if (batch.length > 0) yield batch
      }
      if (inFile) {
        yield* followEntries(dir, {...options, start: {path: file.path, offset: 0, ino: 0}})
        return
      }
    }
  }
  yield* followEntries(dir, {...options, start: {path: cursor.file, offset: 0, ino: -1}})
}

import {type FileHandle, stat} from 'node:fs/promises'
import {basename} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import type {LocatedEntry} from '../events/model.js'
import {Diagnostics} from './diagnostics.js'
import {describeFsErrorWithCode, isWholeFileOnly, type LogFile, listLogFiles, openRegular, parseLogFileName} from './files.js'
import {countFileLineFeeds, decodeFile, type ReadCursor, readFileLines, type ReadOptions} from './reader.js'
import type {FilePosition} from './tail.js'

export interface FollowOptions extends ReadOptions {
  /** Go on from here (as `readLastEntries` returns it); without it, the directory is read from its first file. */
  start?: FilePosition
  diagnostics: Diagnostics
  /** How often to look for growth and new files. */
  pollMs?: number
  /** Ends the following (the generator then returns). */
  signal?: AbortSignal
}

/** A file's place in chain order, as its name gives it. */
type Place = Omit<LogFile, 'path'>

/** The file being followed, held open: an open file can be read to its end after a rename or unlink. */
interface Current {
  handle: FileHandle
  ino: number
  /** The name it was last seen under, and its place in chain order by that name. */
  path: string
  place: Place
  cursor: ReadCursor
  /** The highest part number of its day while it was still live: once rotated into a part, it is numbered above. */
  floor: number
  /** Its first line, once needed to recognise its gzip copy. */
  first?: string
  /**
   * cursor.line is not known yet: the lines before the resume point are counted when something new
   * is read, so following a large file starts without reading it all.
   */
  uncounted?: boolean
}

/**
 * Follows a log directory: yields the matching entries appended after `start`, batch by batch, and
 * goes on across midnight rotation, size rotation (the live file renamed to a numbered part),
 * compression of closed parts and copytruncate, with no entry skipped or repeated. Polls; memory stays
 * flat. An unterminated line is held back until its LF arrives.
 */
export async function* followEntries(dir: string, options: FollowOptions): AsyncGenerator<LocatedEntry[]> {
  const {diagnostics, signal, pollMs = 200} = options
  const pause = () => sleep(pollMs, undefined, {signal}).catch(() => undefined)
  let current: Current | undefined
  let passed: Place | undefined // when no file is open: the last file read whole (a gzip file)
  // Files that could not be opened (permission denied), by path, with their inode: reported once, then passed over.
  const refused = new Map<string, number>()
  if (options.start) ({current, passed} = await resume(dir, options.start, diagnostics, refused))
  try {
    while (!signal?.aborted) {
      if (current) yield* readNew(current, options, true)
      const {files, next, compressed} = await whatIsNext(dir, current, passed)
      if (current && compressed) {
        // Compressed, so closed and complete: read what is left through our descriptor and move past it.
        yield* readNew(current, options, false)
        await current.handle.close()
        current = undefined
        passed = compressed
        continue
      }
      while (
        next.length > 0 &&
        refused.has(next[0].path) &&
        (await stat(next[0].path).catch(() => undefined))?.ino === refused.get(next[0].path)
      )
        next.shift()
      if (next.length === 0) {
        await pause()
        continue
      }
      // The writer finishes a file before it starts the next: read the rest of this one first.
      if (current) yield* readNew(current, options, false)
      const file = next[0]
      if (isWholeFileOnly(file)) {
        // A closed part compressed or encrypted before we got to it: complete, so read whole.
        yield* decodeFile(file, options, diagnostics)
        await current?.handle.close()
        current = undefined
        passed = file
        continue
      }
      const opened = await openFile(file, files, diagnostics, refused)
      if (opened === 'gone' || (opened && !(await holdsNext(dir, current, passed, opened)))) {
        if (opened && opened !== 'gone') await opened.handle.close()
        await pause() // rotated away since the listing: look again
        continue
      }
      await current?.handle.close()
      current = opened
      passed = opened ? undefined : file
    }
  } finally {
    await current?.handle.close()
  }
}

/** Reads the current file from its cursor to its end; `wait` holds back an unterminated last line. */
async function* readNew(current: Current, options: FollowOptions, wait: boolean): AsyncGenerator<LocatedEntry[]> {
  const {size} = await current.handle.stat()
  if (size < current.cursor.offset) {
    // Shrunk under us (copytruncate): what is there now is new, from the start.
    current.cursor = {offset: 0, line: 0, skipping: false}
    current.first = undefined
    current.uncounted = false
  }
  if (size === current.cursor.offset) return
  if (current.uncounted) {
    current.cursor.line = countFileLineFeeds(current.handle.fd, current.cursor.offset)
    current.uncounted = false
  }
  // A torn line is settled by the line after it, which the writer appends in the same write(2): it is here by the end.
  yield* decodeFile({path: current.path, gzip: false}, options, options.diagnostics, {
    fd: current.handle.fd,
    cursor: current.cursor,
    waitForLine: wait,
  })
}

/** The highest part number a day has in a listing (0 when none). */
function topPart(files: LogFile[], day: string): number {
  let top = 0
  for (const f of files) if (f.day === day && Number.isFinite(f.part) && f.part > top) top = f.part
  return top
}

/** Reports a file that cannot be opened, once, and notes it so it is passed over while it is the same file. */
async function refuse(path: string, error: unknown, diagnostics: Diagnostics, refused: Map<string, number>): Promise<void> {
  refused.set(path, (await stat(path).catch(() => undefined))?.ino ?? -1)
  diagnostics.report({kind: 'unreadable', file: path, reason: describeFsErrorWithCode(error)})
}

/** Opens a plain file to follow from its start; 'gone' when it was renamed away since it was listed. */
async function openFile(
  file: LogFile,
  files: LogFile[],
  diagnostics: Diagnostics,
  refused: Map<string, number>,
): Promise<Current | 'gone' | undefined> {
  let handle: FileHandle
  try {
    handle = await openRegular(file.path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone'
    await refuse(file.path, error, diagnostics, refused)
    return undefined
  }
  const {ino} = await handle.stat()
  return {handle, ino, path: file.path, place: file, cursor: {offset: 0, line: 0, skipping: false}, floor: topPart(files, file.day)}
}

/**
 * Whether a file just opened is the one that comes next. A part's name is never given to another
 * file, but between the listing and the open the live name may have been rotated away and given to
 * a newer file; then the one in between must be read first.
 */
async function holdsNext(dir: string, current: Current | undefined, passed: Place | undefined, opened: Current): Promise<boolean> {
  if (Number.isFinite(opened.place.part)) return true
  const {next, compressed} = await whatIsNext(dir, current, passed)
  if (compressed || next.length === 0 || isWholeFileOnly(next[0])) return false
  return (await stat(next[0].path).catch(() => undefined))?.ino === opened.ino
}

/** Opens the start position's file, found by its inode if it was renamed in the meantime. */
async function resume(
  dir: string,
  start: FilePosition,
  diagnostics: Diagnostics,
  refused: Map<string, number>,
): Promise<{current?: Current; passed?: Place}> {
  const place = parseLogFileName(basename(start.path))
  if (!place) throw new Error(`${start.path}: not a log file name`)
  if (place.gzip || place.age) return {passed: place}
  const files = await listLogFiles(dir)
  const sameDay = files.filter((f) => f.day === place.day && !isWholeFileOnly(f)).map((f) => f.path)
  let failure: unknown // why the start's own name could not be opened, when it is there
  for (const path of [start.path, ...sameDay.reverse()]) {
    const handle = await openRegular(path).catch((error: NodeJS.ErrnoException) => {
      if (path === start.path && error.code !== 'ENOENT') failure = error
      return undefined
    })
    if (!handle) continue
    const {ino} = await handle.stat()
    if (ino === start.ino) {
      // The lines before the offset: as the reading that gave the start counted them, else counted when needed (readNew).
      const cursor = {offset: start.offset, line: start.line ?? 0, skipping: false}
      const placed = parseLogFileName(basename(path)) ?? place
      return {current: {handle, ino, path, place: placed, cursor, floor: topPart(files, place.day), uncounted: start.line === undefined}}
    }
    await handle.close()
  }
  // Unreadable, it was reported by the reading that gave the start: only passed over here.
  if (failure) refused.set(start.path, start.ino)
  else
    diagnostics.report({
      kind: 'unreadable',
      file: start.path,
      reason: 'compressed or removed before following began; entries written to it since were not shown',
    })
  return {passed: place}
}

/**
 * A fresh listing and the files in it after where we are, in chain order (all of them when nothing
 * was read yet); `compressed` when the current file turned out to have been gzipped.
 */
async function whatIsNext(
  dir: string,
  current: Current | undefined,
  passed: Place | undefined,
): Promise<{files: LogFile[]; next: LogFile[]; compressed?: LogFile}> {
  const files = await listLogFiles(dir)
  if (!current) return {files, next: passed ? filesAfter(files, passed) : files}
  const i = await findCurrent(files, current)
  if (i < 0) return {files, next: filesAfter(files, current.place)} // removed, or compressed while empty: go by its last name
  return {files, next: files.slice(i + 1), compressed: isWholeFileOnly(files[i]) ? files[i] : undefined}
}

/** The files after a place in chain order. A plain live file at the place itself is a new one: the file that was there has moved on. */
function filesAfter(files: LogFile[], place: Place): LogFile[] {
  return files.filter((f) =>
    f.day === place.day
      ? f.part > place.part || (f.part === Number.POSITIVE_INFINITY && place.part === f.part && !isWholeFileOnly(f))
      : f.day > place.day,
  )
}

/**
 * Where the current file is in the listing now: by inode while it is plain (the live file renamed to
 * a part keeps it), and once it was compressed and unlinked, by its first line, which its gzip copy
 * shares. -1 when neither finds it. Rotation never moves a file to another day.
 */
async function findCurrent(files: LogFile[], current: Current): Promise<number> {
  const {day, part} = current.place
  const found = (i: number) => {
    current.path = files[i].path
    current.place = files[i]
    if (!Number.isFinite(files[i].part)) current.floor = topPart(files, day)
    return i
  }
  for (let i = files.length - 1; i >= 0; i--) {
    const f = files[i]
    if (f.day === day && !isWholeFileOnly(f) && (await stat(f.path).catch(() => undefined))?.ino === current.ino) return found(i)
  }
  current.first ??= await firstLine({path: current.path, gzip: false}, current.handle.fd)
  if (current.first === undefined) return -1
  // Its gzip copy has its part number, or, if it was live, the lowest number above the floor that matches.
  for (let i = 0; i < files.length; i++) {
    const f = files[i]
    if (f.day !== day || !isWholeFileOnly(f) || (Number.isFinite(part) ? f.part !== part : f.part <= current.floor)) continue
    if ((await firstLine(f)) === current.first) return found(i)
  }
  return -1
}

/** The first non-blank line of a file with its number: the same before and after compression. */
async function firstLine(file: Pick<LogFile, 'path' | 'gzip'>, fd?: number): Promise<string | undefined> {
  // Problems in a file only being recognised are reported when it is read, not here.
  for await (const lines of readFileLines(file, new Diagnostics(), {start: 0, fd, wholeLastLine: true}))
    return `${lines[0].line}:${lines[0].text}`
  return undefined
}

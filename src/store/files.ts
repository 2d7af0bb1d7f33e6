import {closeSync, constants, fstatSync, mkdirSync, openSync, statSync} from 'node:fs'
import {type FileHandle, open, readdir, stat} from 'node:fs/promises'
import {dirname, join, resolve} from 'node:path'

import {AuditError} from '../errors.js'

/** The code of the error openRegular*() throw for a FIFO, device, directory or socket. */
export const NOT_REGULAR = 'ENOTREGULAR'
/** The code of the error openAppendSync() throws for a file with another name (a hard link). */
export const HARD_LINKED = 'EHARDLINKED'
/** Codes of the errors reading an age-encrypted log file (payload.ts): no identity, another's identity, damage. */
export const AGE_NO_IDENTITY = 'EAGENOIDENTITY'
export const AGE_WRONG_IDENTITY = 'EAGEWRONGIDENTITY'
export const AGE_DAMAGED = 'EAGEDAMAGED'

// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, for ever.
const READ_NOT_BLOCKING = constants.O_RDONLY | constants.O_NONBLOCK

function notRegular(path: string): Error {
  return Object.assign(new Error(`not a regular file, open '${path}'`), {code: NOT_REGULAR, path})
}

/**
 * Opens a file for reading that must be a regular file: a FIFO or device named like a log or a
 * checkpoint file (planted, or a symlink to /dev/zero) must not hang or flood the reader.
 */
export async function openRegular(path: string): Promise<FileHandle> {
  const handle = await open(path, READ_NOT_BLOCKING)
  if (!(await handle.stat()).isFile()) {
    await handle.close()
    throw notRegular(path)
  }
  return handle
}

/** openRegular(), synchronously: a descriptor. */
export function openRegularSync(path: string): number {
  const fd = openSync(path, READ_NOT_BLOCKING)
  if (!fstatSync(fd).isFile()) {
    closeSync(fd)
    throw notRegular(path)
  }
  return fd
}

/**
 * Appending opens never follow a symbolic link, nor write to a file with more than one name: a link
 * planted under a log file's name (by anyone who can write the directory) would otherwise make the
 * writer, perhaps root, append to its target. A hard link cannot be told from the original, so any
 * second name is refused (the writer's own link-then-unlink rotation is repaired before it appends).
 */
export function openAppendSync(path: string): number {
  const fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW)
  if (fstatSync(fd).nlink > 1) {
    closeSync(fd)
    throw Object.assign(new Error(`has other names (hard links), open '${path}'`), {code: HARD_LINKED, path})
  }
  return fd
}

/** A regular file's text; a FIFO, device or directory is refused without reading it. */
export async function readRegularFile(path: string): Promise<string> {
  const handle = await openRegular(path)
  try {
    return await handle.readFile('utf8')
  } finally {
    await handle.close()
  }
}

/** A file system error as the short phrase that follows `<path>: ` in a one-line message. */
export function describeFsError(error: unknown): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'no such file'
    case 'EACCES':
    case 'EPERM':
      return 'permission denied'
    case 'EISDIR':
      return 'is a directory'
    case 'ENOTDIR':
      return 'not a directory (or a parent is not)'
    case 'EEXIST':
      return 'exists'
    case 'EROFS':
      return 'read-only file system'
    case 'ENOSPC':
      return 'no space left on device'
    case 'EDQUOT':
      return 'disk quota exceeded'
    case 'EFBIG':
      return 'file too large (a file size limit)'
    case 'EIO':
      return 'input/output error'
    case 'ELOOP':
      return 'a symbolic link where a file was expected (not followed), or a loop of them'
    case 'ENAMETOOLONG':
      return 'name too long'
    case NOT_REGULAR:
      return 'not a regular file'
    case HARD_LINKED:
      return 'a file with another name (a hard link): not appended to'
    case AGE_NO_IDENTITY:
    case AGE_WRONG_IDENTITY:
    case AGE_DAMAGED:
      return (error as Error).message
    default:
      return (error as Error).message
  }
}

const OWN_CODES = new Set([NOT_REGULAR, HARD_LINKED, AGE_NO_IDENTITY, AGE_WRONG_IDENTITY, AGE_DAMAGED])

/** True for the error of an age file read without the identity it was encrypted to: not damage, not tampering. */
export function isIdentityError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  return code === AGE_NO_IDENTITY || code === AGE_WRONG_IDENTITY
}

/** As describeFsError, with the errno code when there is one: `permission denied, EACCES`. */
export function describeFsErrorWithCode(error: unknown): string {
  const {code} = error as NodeJS.ErrnoException
  const phrase = describeFsError(error)
  return code && /^E[A-Z]+$/.test(code) && !OWN_CODES.has(code) && !phrase.includes(code) ? `${phrase}, ${code}` : phrase
}

/** A log file that exists but cannot be read (permission denied): an outside part failed, not tampering. */
export class UnreadableFileError extends Error {
  constructor(
    readonly path: string,
    error: unknown,
  ) {
    super(`${path}: ${describeFsErrorWithCode(error)}; it could not be checked`)
  }
}

/**
 * `mkdir -p`, creating what is missing with `mode`. Not Node's `{recursive: true}`: that spins
 * forever where a parent exists but cannot hold children (under /proc or /sys mkdir says ENOENT,
 * which it takes for a missing parent). Here an ENOENT once the parent exists is final.
 */
export function makeDirectory(path: string, mode = 0o700): void {
  const missing: string[] = []
  for (let current = resolve(path); ; current = dirname(current)) {
    try {
      mkdirSync(current, {mode})
      break
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'EEXIST') {
        // An existing ancestor ends the walk (a file there makes the next mkdir say ENOTDIR); the target itself must be a directory.
        if (missing.length === 0 && !statSync(current).isDirectory())
          throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${current}'`), {code: 'ENOTDIR', path: current})
        break
      }
      if (code !== 'ENOENT' || dirname(current) === current) throw error
      missing.push(current)
    }
  }
  for (const dir of missing.reverse()) mkdirSync(dir, {mode})
}

/**
 * A log file recognised by its name: `audit-YYYY-MM-DD[.PART].jsonl[.gz][.age]`, where PART is a
 * numbered size-rotated part (`001`) or a loki-mode rotation time (`HHMMSS`). The unsuffixed file is
 * the day's live, newest part. A closed part moves through its forms: plain, gzipped (`compress`),
 * age-encrypted (`encryption.recipients`, after gzip when both are on).
 */
export interface LogFile {
  path: string
  name: string
  /** UTC day, `YYYY-MM-DD`. */
  day: string
  /** Part number; `Infinity` for the live file so it sorts after its day's closed parts. */
  part: number
  gzip: boolean
  /** Encrypted with age (`.age`): its plaintext needs an identity (payload.ts). */
  age: boolean
}

const NAME = /^audit-(\d{4}-\d{2}-\d{2})(?:\.(\d{3}|\d{6}))?\.jsonl(\.gz)?(\.age)?$/

export function parseLogFileName(name: string): Omit<LogFile, 'path'> | undefined {
  const m = NAME.exec(name)
  if (!m) return undefined
  const [, day, part, gz, age] = m
  if (Number.isNaN(Date.parse(`${day}T00:00:00Z`))) return undefined
  return {name, day, part: part === undefined ? Number.POSITIVE_INFINITY : Number(part), gzip: gz !== undefined, age: age !== undefined}
}

function form(file: LogFile, suffix: '' | '.gz' | '.age' | '.gz.age'): LogFile {
  const name = `${plainName(file.name)}${suffix}`
  return {
    ...file,
    name,
    path: `${file.path.slice(0, file.path.length - file.name.length)}${name}`,
    gzip: suffix.startsWith('.gz'),
    age: suffix.endsWith('.age'),
  }
}

/**
 * Where a listed file's content may be by the time it is read: a closed part may have been gzipped
 * and encrypted (and its earlier form unlinked) since the listing, so its later forms follow it.
 */
export function currentForms(file: LogFile): LogFile[] {
  if (file.age || !Number.isFinite(file.part)) return [file]
  if (file.gzip) return [file, form(file, '.gz.age')]
  return [file, form(file, '.gz'), form(file, '.gz.age'), form(file, '.age')]
}

/** A log file's name without `.gz` or `.age`: a part keeps its identity when it is compressed or encrypted. */
export function plainName(name: string): string {
  return name.replace(/(\.gz)?(\.age)?$/, '')
}

/** True for a file that must be read whole, from its start (gzipped or encrypted): it has no byte ranges, and is closed. */
export function isWholeFileOnly(file: Pick<LogFile, 'gzip' | 'path'>): boolean {
  return file.gzip || file.path.endsWith('.age')
}

/** Chain order: by day, then numbered parts ascending, then the live file. Never by mtime. */
export function compareLogFiles(a: Omit<LogFile, 'path'>, b: Omit<LogFile, 'path'>): number {
  if (a.day !== b.day) return a.day < b.day ? -1 : 1
  if (a.part !== b.part) return a.part < b.part ? -1 : 1
  // The same part in two forms happens only mid-compression or mid-encryption: the earlier form first.
  return formRank(a) - formRank(b)
}

function formRank(file: Omit<LogFile, 'path'>): number {
  return Number(file.gzip) + 2 * Number(file.age ?? false)
}

export class LogDirectoryError extends AuditError {}

/** Epoch ms of the start of a `YYYY-MM-DD` UTC day. */
export function dayStart(day: string): number {
  return Date.parse(`${day}T00:00:00.000Z`)
}

export const DAY_MS = 86_400_000
/** Writers stamp an entry before they pick its file, so an entry may sit a little outside its file's day. */
export const DAY_SLACK_MS = 10 * 60_000

/** Throws LogDirectoryError unless `dir` is a directory that can be listed. */
export async function checkLogDirectory(dir: string): Promise<void> {
  await listNames(dir)
}

async function listNames(dir: string): Promise<string[]> {
  try {
    const info = await stat(dir)
    if (!info.isDirectory()) throw new LogDirectoryError(`${dir}: not a directory`)
    return await readdir(dir)
  } catch (error) {
    if (error instanceof LogDirectoryError) throw error
    const code = (error as NodeJS.ErrnoException).code
    const reason = code === 'ENOENT' ? 'no such directory' : code === 'EACCES' ? 'permission denied' : (error as Error).message
    throw new LogDirectoryError(`${dir}: ${reason}`)
  }
}

/**
 * Lists a directory's log files in chain order. When a part exists in two forms (a compression or
 * encryption in progress), only the earlier one is returned, as it is complete.
 * With a range, files whose day cannot hold entries in it are left out without being opened.
 */
export async function listLogFiles(dir: string, range: {since?: number; until?: number} = {}): Promise<LogFile[]> {
  const names = await listNames(dir)
  const files: LogFile[] = []
  for (const name of names) {
    const parsed = parseLogFileName(name)
    if (!parsed) continue
    const start = dayStart(parsed.day)
    if (range.until !== undefined && start - DAY_SLACK_MS >= range.until) continue
    if (range.since !== undefined && start + DAY_MS + DAY_SLACK_MS <= range.since) continue
    files.push({...parsed, path: join(dir, name)})
  }
  files.sort(compareLogFiles)
  return files.filter((f, i) => !(i > 0 && files[i - 1].day === f.day && files[i - 1].part === f.part))
}

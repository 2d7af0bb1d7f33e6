import {randomBytes} from 'node:crypto'
import {
  chmodSync,
  closeSync,
  createReadStream,
  createWriteStream,
  existsSync,
  fsyncSync,
  linkSync,
  openSync,
  readdirSync,
  statSync,
  unlinkSync,
} from 'node:fs'
import {join} from 'node:path'
import type {Transform} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {createGzip} from 'node:zlib'

import type {LogFile} from './files.js'
import {AgeEncryptStream} from './payload.js'

/** Part numbers have three digits (files.ts); past 999 a day's live file simply keeps growing. */
export const MAX_PART = 999

/** Mode of a closed file: read-only, so no writer can ever append to it again. */
export const CLOSED_MODE = 0o400

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}

export function liveName(day: string): string {
  return `audit-${day}.jsonl`
}

function partName(day: string, part: number, form: Pick<LogFile, 'gzip' | 'age'>): string {
  return `audit-${day}.${String(part).padStart(3, '0')}.jsonl${form.gzip ? '.gz' : ''}${form.age ? '.age' : ''}`
}

/** True for a file no writer may append to: gzipped, encrypted, or closed (read-only). */
export function isClosed(file: Pick<LogFile, 'gzip' | 'age'>, mode: number): boolean {
  return file.gzip || file.age || (mode & 0o200) === 0
}

/** Removes a file; one already gone is fine. */
export function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
}

/** Makes created, renamed and removed names durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** The suffixes a plain part's later forms add to its name (files.ts currentForms). */
const LATER_FORMS = ['.gz', '.gz.age', '.age']

/**
 * Moves a day's live file to the next free numbered part (the caller closes it); returns the part's path,
 * or undefined when the day already has MAX_PART parts. link() fails instead of overwriting, so a
 * name collision can never destroy a file (loki-mode's rename does); the link-then-unlink gap is
 * repaired by `repairHalfRotation`. Called under the directory lock.
 */
export function rotateIntoPart(dir: string, live: LogFile, files: LogFile[]): string | undefined {
  let part = 1
  for (const f of files) if (f.day === live.day && Number.isFinite(f.part) && f.part >= part) part = f.part + 1
  for (; part <= MAX_PART; part++) {
    const target = join(dir, partName(live.day, part, live))
    try {
      linkSync(live.path, target)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue
      throw error
    }
    // The listing may have missed a part being compressed or encrypted (its .gz or .age linked, its
    // plain name unlinked while the directory was read): the number is taken then, so the link is undone.
    if (!live.gzip && !live.age && LATER_FORMS.some((suffix) => existsSync(`${target}${suffix}`))) {
      unlinkSync(target)
      continue
    }
    unlinkSync(live.path)
    return target
  }
  return undefined
}

/**
 * A writer killed between link() and unlink() in `rotateIntoPart` leaves the live name and a part
 * on one inode: the entries would be read twice. Drops the live name in that case; returns true
 * when it did.
 */
export function repairHalfRotation(live: LogFile, files: LogFile[]): boolean {
  const info = statSync(live.path)
  if (info.nlink < 2) return false
  for (const f of files) {
    if (f === live || f.day !== live.day || f.gzip !== live.gzip || f.age !== live.age) continue
    const other = statSync(f.path, {throwIfNoEntry: false})
    if (other && other.ino === info.ino && other.dev === info.dev) {
      unlinkSync(live.path)
      return true
    }
  }
  return false
}

/**
 * Gzips a closed file next to itself, outside the lock (closed files never change). The copy is
 * written under a temporary name (which readers ignore) and linked into place, so a reader sees
 * either the plain file or a complete `.gz` (the reader prefers the plain one while both exist).
 */
export async function compressClosed(path: string, durable: boolean): Promise<void> {
  await replaceClosed(path, `${path}.gz`, () => [createGzip()], durable)
}

/**
 * Encrypts a closed file (plain or gzipped) to age recipients as `<name>.age`, as compressClosed
 * gzips it: temporary file, fsync, link into place, read-only, then the unencrypted form removed.
 * Only public keys are needed. Resolves with the encrypted file's path.
 */
export async function encryptClosed(path: string, recipients: string[], durable: boolean): Promise<string> {
  const encrypt = await AgeEncryptStream.to(recipients)
  await replaceClosed(path, `${path}.age`, () => [encrypt], durable)
  return `${path}.age`
}

/**
 * Writes `path` through `stages` to `final`, atomically: a temporary name first (0600, which readers
 * ignore), synced, then linked (never overwriting: a form another writer made first stands), then
 * made read-only; the source is removed last. Retention removing the source meanwhile removes the
 * copy too.
 */
async function replaceClosed(path: string, final: string, stages: () => Transform[], durable: boolean): Promise<void> {
  const temp = `${final}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`
  try {
    try {
      await pipeline([createReadStream(path), ...stages(), createWriteStream(temp, {flags: 'wx', mode: 0o600})])
    } catch (error) {
      // Done (or removed by retention) by another writer first.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && (error as NodeJS.ErrnoException).path === path) return
      throw error
    }
    if (durable) {
      const fd = openSync(temp, 'r')
      try {
        fsyncSync(fd)
      } finally {
        closeSync(fd)
      }
    }
    try {
      linkSync(temp, final)
    } catch (error) {
      // Already done by someone else (perhaps killed before removing the source): theirs stands, complete.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      unlinkQuiet(path)
      return
    }
    chmodSync(final, CLOSED_MODE)
    try {
      unlinkSync(path)
    } catch (error) {
      // Removed by retention while we worked: the copy must go as well.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      unlinkQuiet(final)
    }
  } finally {
    unlinkQuiet(temp)
  }
}

const COMPRESS_TEMP = /^audit-.+\.jsonl(?:\.gz|\.age|\.gz\.age)\.\d+-[0-9a-f]+\.tmp$/

/** A compression's or encryption's temporary file untouched this long was left by a writer that died at it. */
const TEMP_STALE_MS = 10 * 60_000

/** The temporary files of compressions and encryptions that died (killed mid-way), to remove. */
export function staleCompressionTemps(dir: string, now = Date.now()): string[] {
  return readdirSync(dir)
    .filter((name) => COMPRESS_TEMP.test(name))
    .map((name) => join(dir, name))
    .filter((path) => {
      const info = statSync(path, {throwIfNoEntry: false})
      return info !== undefined && now - info.mtimeMs > TEMP_STALE_MS
    })
}

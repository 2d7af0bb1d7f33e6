import {type FileHandle, stat} from 'node:fs/promises'
import {setTimeout as sleep} from 'node:timers/promises'

import {currentForms, type LogFile, listLogFiles, openRegular} from '../../store/files.js'
import {DirectoryLock} from '../../store/lock.js'

/** The directory snapshot: every log file opened at one moment, so a concurrent writer cannot move one under verify. */

/** A log file as listed, with the descriptor opened for it at that moment (see openSnapshot). */
export interface Opened extends LogFile {
  handle?: FileHandle
  /** Size when opened (0 when unknown). */
  size: number
  dev?: number
  ino?: number
  /** Why it could not be opened; reported when the file's turn comes. */
  error?: NodeJS.ErrnoException
}

/**
 * Descriptors held at once (Node raises its soft descriptor limit to the hard one); older files,
 * long closed, are opened by name when read.
 */
const MAX_HELD = 8192
/** Listings tried before taking the writers' lock for one (a rotation takes a few syscalls). */
const SNAPSHOT_TRIES = 20
/** How long verify waits for the writers' lock; writers hold it for one batch. */
const LOCK_WAIT_MS = 5_000

export async function closeAll(files: Opened[]): Promise<void> {
  await Promise.all(
    files.map(async (f) => {
      const {handle} = f
      f.handle = undefined
      await handle?.close().catch(() => {})
    }),
  )
}

/** True when the directory no longer lists exactly these files on these inodes. */
async function changedSince(dir: string, files: Opened[]): Promise<boolean> {
  const now = await listLogFiles(dir)
  if (now.length !== files.length || now.some((f, i) => f.name !== files[i].name)) return true
  const inodes = new Set<string>()
  for (const f of files) {
    if (f.ino === undefined) continue
    // Two names on one inode: a rotation between its link() and unlink().
    const key = `${f.dev}:${f.ino}`
    if (inodes.has(key)) return true
    inodes.add(key)
  }
  const stats = await Promise.all(files.map((f) => (f.ino === undefined ? undefined : stat(f.path).catch(() => null))))
  return stats.some((s, i) => s === null || (s !== undefined && (s.ino !== files[i].ino || s.dev !== files[i].dev)))
}

/**
 * Lists the directory and opens its files at one moment: a concurrent writer renames the live
 * file into a numbered part, gzips closed parts and prunes old files, all by name, so verify holds
 * a descriptor of each file from listing time and checks, by listing again, that no name moved or
 * changed inode while it opened them (if one did, it starts over, a bounded number of times, then
 * lists under the writers' lock).
 * What it then reads is one state of the directory: closed parts never change, a gzipped or pruned
 * file stays readable through its descriptor, and the live file only grows (verify checks the
 * prefix it reads). Descriptors rather than re-verifying on a problem: nothing is read twice, a
 * long run cannot be outpaced by a busy writer, and problems can be printed as they are found.
 * Beyond MAX_HELD files only the newest are held; older ones are long closed and opened by name.
 */
export async function openSnapshot(dir: string, tries = SNAPSHOT_TRIES): Promise<Opened[]> {
  for (let attempt = 1; attempt <= tries; attempt++) {
    const {files, outOfDescriptors, gone} = await listAndOpen(dir)
    if (outOfDescriptors || (!gone && !(await changedSince(dir, files)))) return files
    await closeAll(files)
    await sleep(attempt)
  }
  return lockedSnapshot(dir)
}

/**
 * A writer rotating faster than verify can list and open (tiny parts, many writers) never lets
 * the directory hold still: the listing is then taken under the writers' own lock, which every
 * rotation holds, so no name moves between listing and opening. Only gzipping and encrypting
 * closed parts happen outside it, and a part gone that way is read from its later form (openLate).
 * Where the lock cannot be taken (a read-only log directory, a writer holding it too long) the last
 * listing is verified as it is.
 */
async function lockedSnapshot(dir: string): Promise<Opened[]> {
  const lock = new DirectoryLock(dir, {timeoutMs: LOCK_WAIT_MS})
  const locked = await lock.acquire().then(
    () => true,
    () => false,
  )
  try {
    const {files} = await listAndOpen(dir)
    for (const f of files) if (f.error?.code === 'ENOENT') f.error = undefined
    return files
  } finally {
    if (locked) lock.release()
  }
}

/** Lists the directory and opens the newest MAX_HELD files; `gone` when one vanished in between. */
async function listAndOpen(dir: string): Promise<{files: Opened[]; outOfDescriptors: boolean; gone: boolean}> {
  const files: Opened[] = (await listLogFiles(dir)).map((f) => ({...f, size: 0}))
  let gone = false
  await Promise.all(
    files.slice(-MAX_HELD).map(async (f) => {
      try {
        f.handle = await openRegular(f.path)
        const info = await f.handle.stat()
        Object.assign(f, {size: info.size, dev: info.dev, ino: info.ino})
      } catch (error) {
        f.error = error as NodeJS.ErrnoException
        if (f.error.code === 'ENOENT') gone = true
      }
    }),
  )
  const outOfDescriptors = files.some((f) => f.error?.code === 'EMFILE' || f.error?.code === 'ENFILE')
  if (outOfDescriptors) {
    // Out of descriptors: open each file by name when its turn comes.
    await closeAll(files)
    for (const f of files) f.error = undefined
  }
  return {files, outOfDescriptors, gone}
}

/**
 * Opens a file that was not held: a part gzipped or encrypted since the listing is read from its
 * later form. Returns the form opened, whose name says how to read it.
 */
export async function openLate(file: Opened): Promise<{handle: FileHandle; gzip: boolean; path: string}> {
  const forms = currentForms(file)
  for (const [i, form] of forms.entries()) {
    try {
      return {handle: await openRegular(form.path), gzip: form.gzip, path: form.path}
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || i === forms.length - 1) throw error
    }
  }
  throw new Error(`${file.path}: no form to open`) // not reached: currentForms gives at least the file itself
}

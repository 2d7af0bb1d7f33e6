import {
  readFileSync,
  chmodSync,
  closeSync,
  fdatasync as fdatasyncCallback,
  fdatasyncSync,
  fstatSync,
  openSync,
  statSync,
  writeSync,
  close as closeCallback,
} from 'node:fs'
import {hostname} from 'node:os'
import {basename, join} from 'node:path'
import {promisify} from 'node:util'

import {chainLine, GENESIS, serializeBody} from '../chain/native.js'
import {globToRegExp} from '../events/filter.js'
import {type AuditEntry, type Level, type LocatedEntry, levelRank, MAX_LINE_BYTES} from '../events/model.js'
import {checkWriteInput, defaultActor, type WriteInput, WriteInputError} from '../events/write-input.js'
import {AuditError} from '../errors.js'
import {privacyOn, Sealer} from '../privacy/privacy.js'
import {type LogFile, listLogFiles, LogDirectoryError, makeDirectory, openAppendSync} from './files.js'
import {DirectoryLock} from './lock.js'
import {isAgeRecipient} from './age-keys.js'
import {lastChainHash, lineNumberAt, readTail, recoveryDetails} from './recovery.js'
import {planRetentionWithHistory, type RemovedFile, removeFiles, stillPresent} from './retention.js'
import {
  CLOSED_MODE,
  compressClosed,
  encryptClosed,
  fsyncDir,
  isClosed,
  liveName,
  repairHalfRotation,
  rotateIntoPart,
  staleCompressionTemps,
  unlinkQuiet,
  utcDay,
} from './rotate.js'
import type {WriterSettings} from './writer-settings.js'

const fdatasync = promisify(fdatasyncCallback)
const closeFd = promisify(closeCallback)

/**
 * Where appended entries go once they are in the file (syslog forwarding). Defined here and made by
 * the layer above (transport's WriterForwarder), so the writer knows nothing of sinks and formats.
 */
export interface EntryForwarder {
  /** Hands one appended entry over; never throws, never waits. */
  send(located: LocatedEntry): void
  /** Lets queued records leave (briefly), then lets go. */
  close(): Promise<void>
}

/** How the writer runs, apart from its settings. */
export interface WriterOptions {
  /** Clock in epoch ms (tests inject one); default Date.now. */
  now?: () => number
  /** How long a write may wait for the directory lock before it fails (default 60 s). */
  lockTimeoutMs?: number
  /** Failures of background work (compression, retention after a rotation) and files retention must keep (RetentionHeldError); default: process.emitWarning. */
  onError?: (error: Error) => void
  /** Makes the forwarder appended entries are handed to, if any (called once, when writing is enabled). */
  forwarder?: (onError: (error: Error) => void) => EntryForwarder | undefined
}

/** An entry as appended: the parsed entry, its exact line (without LF) and its file. */
export interface WrittenEntry {
  entry: AuditEntry
  line: string
  file: string
}

/** A write(2) that failed after `written` bytes of the batch had landed. */
class AppendError extends Error {
  constructor(
    readonly failure: Error,
    readonly written: number,
  ) {
    super(failure.message)
  }
}

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {version: string}).version

/** Most entries appended under one lock acquisition, so other processes get their turn. */
const MAX_BATCH = 8192
/** And at most this much text per batch: one write(2) of a string V8 can build. */
const MAX_BATCH_CHARS = 32 * 1024 * 1024

/** Files one audit.retention event records (about 200 bytes each, well under a line's 1 MiB). */
const MAX_RECORDED_FILES = 2000

/** Entries are stamped under the lock; the body is serialized before, with this in its place. */
const STAND_IN = '0000-00-00T00:00:00.000Z'
const TIMESTAMP_AT = '{"timestamp":"'.length

/** A body serialized with STAND_IN, stamped: ISO timestamps have a fixed length and need no escaping. */
function stamp(body: string, timestamp: string): string {
  return `${body.slice(0, TIMESTAMP_AT)}${timestamp}${body.slice(TIMESTAMP_AT + STAND_IN.length)}`
}

interface Pending {
  /** serializeBody() of the entry with STAND_IN as its timestamp; absent for internal events. */
  body?: string
  event: string
  level: Level
  actor: string
  details: Record<string, unknown>
  /** Internal events: details computed under the lock (undefined: nothing to write), and work after the line is durable. */
  prepare?: () => Record<string, unknown> | undefined
  commit?: () => void
  resolve: (written: WrittenEntry | undefined) => void
  reject: (error: Error) => void
}

/** The file being appended to, as this writer left it. */
interface Live {
  path: string
  name: string
  day: string
  fd: number
  ino: number
  size: number
  mode: number
  head: string
}

/**
 * Appends entries to a log directory: chained, locked across processes, rotated, retained.
 * Concurrent `write()` calls are batched: one lock acquisition and one write(2) per batch.
 */
export class LogWriter {
  private readonly lock: DirectoryLock
  private readonly now: () => number
  private readonly onError: (error: Error) => void
  private readonly metadata: Record<string, unknown>
  private readonly excluded: RegExp[]
  private readonly maxBytes: number
  private queue: Pending[] = []
  private draining: Promise<void> | undefined
  private live: Live | undefined
  private closed = false
  private readonly background = new Set<Promise<void>>()
  private dirty = new Set<number>()
  private syncTimer: NodeJS.Timeout | undefined
  private syncing: Promise<void> = Promise.resolve()
  private pruning = false
  /** Syslog forwarding (config `syslog`), when on: appended entries are handed to it after they are in the file. */
  private forwarder: EntryForwarder | undefined
  /** Crypto-shredding (config `privacy`), when on: seals the privacy fields of each entry before it is chained. */
  private sealer: Sealer | undefined

  private constructor(
    readonly dir: string,
    readonly settings: WriterSettings,
    options: WriterOptions,
  ) {
    this.lock = new DirectoryLock(dir, {timeoutMs: options.lockTimeoutMs})
    this.now = options.now ?? Date.now
    this.onError = options.onError ?? ((error) => process.emitWarning(error.message, 'AuditWriterWarning'))
    this.metadata = settings.include_metadata ? {hostname: hostname(), pid: process.pid, version: VERSION, ...settings.metadata} : {}
    this.excluded = settings.exclude_events.map((g) => globToRegExp(g))
    this.maxBytes = settings.max_file_size * 1024 * 1024
  }

  /**
   * Opens a writer on a directory (created 0700 if missing), with settings already resolved (the
   * library's AuditWriter.open and the commands resolve them from the config and its defaults).
   * A torn last line left by a crash is terminated and recorded (`audit.recovery`) here.
   */
  static async open(dir: string, settings: WriterSettings, options: WriterOptions = {}): Promise<LogWriter> {
    const writer = new LogWriter(dir, settings, options)
    const bad = settings.encryption.recipients.find((r) => !isAgeRecipient(r))
    if (bad !== undefined) throw new AuditError(`encryption.recipients: "${bad}" is not a valid age public key (bad checksum)`)
    if (settings.enabled) {
      // A missing or unusable keystore fails here (KeystoreError, exit 3): nothing is written in plaintext instead.
      if (privacyOn(settings.privacy)) writer.sealer = Sealer.open(settings.privacy, dir)
      writer.forwarder = options.forwarder?.(writer.onError)
      makeDirectory(dir)
      // Under the lock: another writer may be between moving a file into a part and closing it.
      await writer.withLock(async () => writer.finishInterrupted((await writer.findHead(writer.now())).files))
    }
    return writer
  }

  /**
   * Finishes what a writer killed (or failing) mid-way left: its compression's or encryption's
   * temporary file, numbered parts not yet made read-only (a rotation or recovery cut short), closed
   * parts not yet gzipped or encrypted (or whose earlier form is still there beside the later one).
   */
  private finishInterrupted(files: LogFile[]): void {
    for (const path of staleCompressionTemps(this.dir)) unlinkQuiet(path)
    // Not the newest file: a recovery cut short may have left the chain's end in a part, to be appended to.
    for (const file of files.slice(0, -1)) {
      if (file.age) continue
      if (!file.gzip) {
        const info = statSync(file.path, {throwIfNoEntry: false})
        if (!info) continue
        if (!isClosed(file, info.mode)) {
          if (Number.isFinite(file.part)) this.closeFile(file.path)
          continue
        }
      }
      this.track(this.finishClosed(file.path, file.gzip))
    }
  }

  /** Takes a closed file on to its final form: gzipped with `compress`, then encrypted with `encryption.recipients`. */
  private async finishClosed(path: string, gzipped: boolean): Promise<void> {
    const durable = this.settings.fsync !== 'never'
    let current = path
    if (this.settings.compress && !gzipped) {
      await compressClosed(current, durable)
      current = `${current}.gz`
    }
    if (this.settings.encryption.recipients.length > 0) await encryptClosed(current, this.settings.encryption.recipients, durable)
  }

  /**
   * Appends one entry; resolves once it is in the file (and on disk, with fsync `always`), with
   * undefined when the settings drop it (disabled, below `level`, in `exclude_events`).
   * Rejects with WriteInputError on a bad event, level or details value; nothing is written then.
   */
  write(input: WriteInput): Promise<WrittenEntry | undefined> {
    if (this.closed) return Promise.reject(new Error('AuditWriter: write after close()'))
    let checked: ReturnType<typeof checkWriteInput>
    try {
      checked = checkWriteInput(input)
    } catch (error) {
      return Promise.reject(error)
    }
    const {event, level, actor, details} = checked
    if (!this.settings.enabled || levelRank(level) < levelRank(this.settings.level) || this.excluded.some((re) => re.test(event))) {
      return Promise.resolve(undefined)
    }
    let entry = {event, level, actor: actor ?? defaultActor(), details}
    if (this.sealer) {
      try {
        entry = this.sealer.seal(entry)
      } catch (error) {
        return Promise.reject(error)
      }
    }
    // Serialized now, outside the lock, with a stand-in timestamp of the same length (see stamp()).
    const body = serializeBody({timestamp: STAND_IN, ...entry, metadata: this.metadata})
    const bytes = Buffer.byteLength(body) + (this.settings.integrity ? 80 : 0)
    if (bytes > MAX_LINE_BYTES)
      return Promise.reject(new WriteInputError(`entry is ${bytes} bytes; readers accept at most ${MAX_LINE_BYTES}`))
    return this.enqueue({...entry, body})
  }

  /**
   * Applies `retention_days` now: records the files to remove in a chained `audit.retention` event,
   * then removes them. Resolves with what was removed (empty when nothing is old enough).
   */
  async prune(): Promise<RemovedFile[]> {
    if (!this.settings.enabled || this.settings.retention_days <= 0) return []
    const all: RemovedFile[] = []
    for (;;) {
      const {planned, earlier} = await planRetentionWithHistory(this.dir, this.settings.retention_days, this.now(), this.onError)
      // One event records at most MAX_RECORDED_FILES, so it stays a line readers accept; the rest go in the next.
      const batch = planned.slice(0, MAX_RECORDED_FILES)
      if (batch.length === 0) break
      let removed: RemovedFile[] = []
      await this.enqueue({
        event: 'audit.retention',
        level: 'warning',
        actor: 'auditkit',
        details: {},
        prepare: () => {
          removed = stillPresent(this.dir, batch)
          return removed.length === 0 ? undefined : {retention_days: this.settings.retention_days, removed, earlier}
        },
        commit: () => {
          removeFiles(this.dir, removed)
          fsyncDir(this.dir)
        },
      })
      all.push(...removed)
      if (planned.length <= MAX_RECORDED_FILES || removed.length === 0) break
    }
    return all
  }

  /**
   * Crypto-shredding (`audit forget`): under the lock, records an `audit.erasure` event naming the
   * subject's blind index (never the subject), then, once that line is on disk, destroys the
   * subject's key. Resolves with the event, or undefined when the subject has no key (never had one,
   * or was forgotten already): nothing is written then. Needs privacy fields and a keystore.
   */
  async erase(subjectId: string): Promise<WrittenEntry | undefined> {
    const sealer = this.sealer
    if (!sealer) throw new WriteInputError('erasure needs privacy.fields and privacy.keystore in the configuration')
    return this.enqueue({
      event: 'audit.erasure',
      level: 'warning',
      actor: 'auditkit',
      details: {},
      prepare: () =>
        sealer.keystore.hasSubjectKey(subjectId) ? {subject: `blind:${subjectId}`, fields: sealer.settings.fields} : undefined,
      commit: () => sealer.keystore.destroySubjectKey(subjectId),
    })
  }

  /** The subject id (blind index) of an actor; undefined without privacy fields. */
  subjectOf(actor: string): string | undefined {
    return this.sealer?.subjectOf(actor)
  }

  /** Writes everything queued, waits for background work, syncs (unless fsync is `never`) and closes the file. */
  async close(): Promise<void> {
    this.closed = true
    while (this.draining) await this.draining
    while (this.background.size > 0) await Promise.allSettled([...this.background])
    clearTimeout(this.syncTimer)
    await this.forwarder?.close()
    await this.syncing
    if (this.live) {
      const {fd} = this.live
      this.live = undefined
      await this.retire(fd)
    }
  }

  private enqueue(item: Omit<Pending, 'resolve' | 'reject'>): Promise<WrittenEntry | undefined> {
    return new Promise((resolve, reject) => {
      this.queue.push({...item, resolve, reject})
      this.kick()
    })
  }

  /** Starts draining the queue unless a drain is running; one that ends re-checks (work may arrive as it settles). */
  private kick(): void {
    if (this.draining || this.queue.length === 0) return
    this.draining = this.drain().finally(() => {
      this.draining = undefined
      this.kick()
    })
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      let size = 0
      let n = 0
      for (; n < this.queue.length && n < MAX_BATCH; n++) {
        size += this.queue[n].body?.length ?? 0
        if (n > 0 && size > MAX_BATCH_CHARS) break
      }
      const batch = this.queue.splice(0, n)
      try {
        await this.flush(batch)
      } catch (error) {
        for (const item of batch) item.reject(error as Error)
      }
    }
  }

  private async withLock<T>(work: () => Promise<T> | T): Promise<T> {
    await this.lock.acquire()
    try {
      return await work()
    } finally {
      this.lock.release()
    }
  }

  /** Appends one batch under the lock: find the head, rotate if due, chain, one write(2). */
  private async flush(batch: Pending[]): Promise<void> {
    const results: Array<[Pending, WrittenEntry | undefined]> = []
    const live = await this.withLock(async () => {
      const now = this.now()
      const prepared = batch.map((item) => ({item, details: item.prepare ? item.prepare() : item.details}))
      // Nothing to write (an internal event with nothing to record): no rotation, no empty new file.
      if (prepared.every(({details}) => !details)) {
        for (const {item} of prepared) results.push([item, undefined])
        return undefined
      }
      const live = await this.position(now)
      const timestamp = new Date(now).toISOString()
      const lines: string[] = []
      const commits: Array<() => void> = []
      let head = live.head
      for (const {item, details} of prepared) {
        if (!details) {
          results.push([item, undefined])
          continue
        }
        const body =
          item.body === undefined || timestamp.length !== STAND_IN.length
            ? serializeBody({timestamp, event: item.event, level: item.level, actor: item.actor, details, metadata: this.metadata})
            : stamp(item.body, timestamp)
        const chained = this.settings.integrity ? chainLine(body, head) : undefined
        const line = chained?.line ?? body
        if (chained) head = chained.hash
        lines.push(line)
        if (item.commit) commits.push(item.commit)
        const entry: AuditEntry = {timestamp, event: item.event, level: item.level, actor: item.actor, details, metadata: this.metadata}
        if (chained) entry.chain_hash = chained.hash
        results.push([item, {entry, line, file: live.path}])
      }
      if (lines.length > 0) {
        try {
          this.append(live, `${lines.join('\n')}\n`)
        } catch (error) {
          if (!(error instanceof AppendError)) throw error
          // The calls whose whole line landed are done; the others fail (the next writer records a torn line).
          let end = 0
          for (const [item, written] of results) {
            if (!written) item.resolve(undefined)
            else if ((end += Buffer.byteLength(written.line) + 1) <= error.written) item.resolve(written)
            else item.reject(error.failure)
          }
          results.length = 0
          return undefined
        }
        live.head = head
      }
      if (commits.length > 0) {
        // What an internal event records must be on disk before it acts (e.g. files removed).
        fdatasyncSync(live.fd)
        for (const commit of commits) commit()
      }
      return live
    })
    if (live && this.settings.fsync === 'always') await fdatasync(live.fd)
    else if (live && this.settings.fsync === 'interval') this.markDirty(live.fd)
    for (const [item, written] of results) item.resolve(written)
    if (this.forwarder)
      for (const [, written] of results)
        if (written)
          this.forwarder.send({
            entry: written.entry,
            time: Date.parse(written.entry.timestamp),
            file: written.file,
            line: 0,
            raw: written.line,
            profile: 'native',
          })
  }

  /** write(2) until every byte is in; on failure the file position is unknown, so the tail is re-read next time. */
  private append(live: Live, text: string): void {
    const buf = Buffer.from(text)
    let done = 0
    try {
      for (; done < buf.length; ) done += writeSync(live.fd, buf, done, buf.length - done)
    } catch (error) {
      this.live = undefined
      // What did land is made as durable as the policy promises before the calls it holds resolve.
      if (done > 0 && this.settings.fsync === 'always') {
        try {
          fdatasyncSync(live.fd)
        } catch {
          done = 0
        }
      }
      void this.retire(live.fd)
      throw new AppendError(error as Error, done)
    }
    live.size += buf.length
  }

  /**
   * The file to append to and the chain head. Fast path: the file this writer appended to last is
   * exactly as it left it (same inode, size and mode: nobody appended, rotated or closed it) and
   * no new day or size rotation is due. Otherwise the directory is looked at again.
   */
  private async position(now: number): Promise<Live> {
    const live = this.live
    if (live && utcDay(now) <= live.day && !(this.maxBytes > 0 && live.size >= this.maxBytes)) {
      const info = statSync(live.path, {throwIfNoEntry: false})
      if (info && info.ino === live.ino && info.size === live.size && info.mode === live.mode && info.nlink === 1) return live
    }
    if (live) {
      this.live = undefined
      void this.retire(live.fd)
    }
    const {files, head} = await this.findHead(now)
    this.live = this.openLive(files, head, now)
    return this.live
  }

  /**
   * Reads the chain head from the tail of the newest file (older files only when it holds no chained
   * line) and repairs what a crash left: a half-done rotation, or a torn last line, which is ended
   * with LF and recorded in a chained `audit.recovery` event. Called under the lock.
   */
  private async findHead(now: number): Promise<{files: LogFile[]; head: string}> {
    let files = await listLogFiles(this.dir)
    const last = files.at(-1)
    if (last && !last.gzip && !last.age && last.part === Number.POSITIVE_INFINITY && repairHalfRotation(last, files))
      files = await listLogFiles(this.dir)
    const newest = files.at(-1)
    let head: string | undefined
    let tail: ReturnType<typeof readTail> | undefined
    const info = newest && !newest.gzip && !newest.age ? statSync(newest.path) : undefined
    if (newest && info) {
      tail = readTail(newest.path, info.size, this.settings.integrity)
      // Its chain is not ours to continue, nor is its file ours to append to.
      if (tail.lokiMode)
        throw new LogDirectoryError(
          `${this.dir}: ${newest.name} is a loki-mode log; auditkit writes native logs, into a directory of their own`,
        )
      head = tail.head
    }
    if (head === undefined && this.settings.integrity) {
      for (let i = files.length - (tail ? 2 : 1); i >= 0 && head === undefined; i--) head = await lastChainHash(files[i])
    }
    head ??= GENESIS
    if (newest && info && tail && !isClosed(newest, info.mode)) {
      if (tail.fragment) {
        // The file is first moved to its final name (a numbered part), as the record names it.
        const part = newest.part === Number.POSITIVE_INFINITY ? rotateIntoPart(this.dir, newest, files) : undefined
        const path = part ?? newest.path
        const {offset, bytes} = tail.fragment
        const details = recoveryDetails(basename(path), lineNumberAt(path, offset), bytes)
        const body = serializeBody({
          timestamp: new Date(now).toISOString(),
          event: 'audit.recovery',
          level: 'warning',
          actor: 'auditkit',
          details,
          metadata: this.metadata,
        })
        const chained = this.settings.integrity ? chainLine(body, head) : undefined
        // One write(2): the LF that ends the fragment and the entry recording it.
        this.appendTo(path, `\n${chained?.line ?? body}\n`)
        if (chained) head = chained.hash
        if (part) {
          this.closeFile(part)
          files = await listLogFiles(this.dir)
        }
      } else if (tail.missingNewline) {
        this.appendTo(newest.path, '\n')
      }
    }
    return {files, head}
  }

  /**
   * Makes a file read-only, so no writer appends to it again, and (after the lock) gzips it with
   * `compress` and encrypts it with `encryption.recipients`.
   */
  private closeFile(path: string): void {
    chmodSync(path, CLOSED_MODE)
    if (this.settings.compress || this.settings.encryption.recipients.length > 0) this.track(this.finishClosed(path, false))
  }

  private appendTo(path: string, text: string): void {
    const fd = openAppendSync(path)
    try {
      const buf = Buffer.from(text)
      for (let done = 0; done < buf.length; ) done += writeSync(fd, buf, done, buf.length - done)
      if (this.settings.fsync !== 'never') fdatasyncSync(fd)
    } finally {
      closeSync(fd)
    }
  }

  /**
   * Picks the live file: the newest file's day or today's, whichever is later (the chain never goes
   * back to an older file); rotates by day and by size; creates the new live file with O_EXCL.
   * Closed files are made read-only and, with `compress` and `encryption`, gzipped and encrypted after the lock is released.
   */
  private openLive(files: LogFile[], head: string, now: number): Live {
    const newest = files.at(-1)
    const day = newest && newest.day > utcDay(now) ? newest.day : utcDay(now)
    let rotated = false
    let current = newest && newest.day === day && newest.part === Number.POSITIVE_INFINITY ? newest : undefined
    if (current) {
      const info = statSync(current.path)
      if (isClosed(current, info.mode)) {
        // Today's live name holds a closed file (the clock went back over a rollover): set it aside.
        rotateIntoPart(this.dir, current, files)
        current = undefined
      } else if (this.maxBytes > 0 && info.size >= this.maxBytes) {
        const part = rotateIntoPart(this.dir, current, files)
        if (part) {
          this.closeFile(part)
          current = undefined
          rotated = true
        }
      }
    }
    let fd: number
    const path = current?.path ?? join(this.dir, liveName(day))
    if (current) {
      fd = openAppendSync(path)
    } else {
      fd = openSync(path, 'ax', 0o600)
      if (newest && newest !== current && newest.day < day && !newest.gzip && !newest.age) {
        const info = statSync(newest.path, {throwIfNoEntry: false})
        if (info && !isClosed(newest, info.mode)) this.closeFile(newest.path)
        rotated = true
      }
      if (this.settings.fsync !== 'never') fsyncDir(this.dir)
    }
    if (rotated && this.settings.retention_days > 0 && !this.pruning) {
      this.pruning = true
      this.track(
        this.prune()
          .then(() => undefined)
          .finally(() => {
            this.pruning = false
          }),
      )
    }
    const info = fstatSync(fd)
    return {path, name: liveName(day), day, fd, ino: info.ino, size: info.size, mode: info.mode, head}
  }

  private track(work: Promise<void>): void {
    const tracked = work.catch((error: Error) => this.onError(error)).finally(() => this.background.delete(tracked))
    this.background.add(tracked)
  }

  /** fsync `interval`: at most one fdatasync of each written file per interval. */
  private markDirty(fd: number): void {
    this.dirty.add(fd)
    if (this.syncTimer) return
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined
      const fds = [...this.dirty]
      this.dirty.clear()
      this.syncing = Promise.all(fds.map((f) => fdatasync(f).catch(() => undefined))).then(() => undefined)
    }, this.settings.fsync_interval_ms)
    // A pending sync must not keep a process alive; what it would flush is already in the OS.
    this.syncTimer.unref()
  }

  /** Syncs (unless fsync is never) and closes a file this writer no longer appends to. */
  private async retire(fd: number): Promise<void> {
    const wasDirty = this.dirty.delete(fd)
    await this.syncing
    if (wasDirty) await fdatasync(fd).catch(() => undefined)
    await closeFd(fd)
  }
}

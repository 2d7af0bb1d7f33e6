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
import {hostname, userInfo} from 'node:os'
import {basename, join} from 'node:path'
import {promisify} from 'node:util'

import {z} from 'zod'

import {readDefaults} from '../config/load.js'
import {type Config, makeConfigSchemas} from '../config/schema.js'
import {globToRegExp} from '../events/filter.js'
import {type AuditEntry, EVENT_NAME, type Level, LEVELS, levelRank, MAX_EVENT_LENGTH, MAX_LINE_BYTES, parseLevel} from '../events/model.js'
import {chainLine, GENESIS, serializeBody} from '../chain/native.js'
import {WriterForwarder} from '../transport/forward.js'
import {type LogFile, listLogFiles, LogDirectoryError, makeDirectory, openAppendSync, plainName} from './files.js'
import {DirectoryLock} from './lock.js'
import {lastChainHash, lineNumberAt, readTail, recoveryDetails} from './recovery.js'
import {planRetentionWithHistory, type RemovedFile, removeFiles, stillPresent} from './retention.js'
import {
  CLOSED_MODE,
  compressClosed,
  fsyncDir,
  isClosed,
  liveName,
  repairHalfRotation,
  rotateIntoPart,
  staleCompressionTemps,
  unlinkQuiet,
  utcDay,
} from './rotate.js'

const fdatasync = promisify(fdatasyncCallback)
const closeFd = promisify(closeCallback)

const {configSchema} = makeConfigSchemas(z)

/** The settings the writer uses (config keys, see config/default.yaml). */
export const writerSettingsSchema = configSchema.pick({
  enabled: true,
  level: true,
  exclude_events: true,
  include_metadata: true,
  metadata: true,
  integrity: true,
  max_file_size: true,
  compress: true,
  retention_days: true,
  fsync: true,
  fsync_interval_ms: true,
  syslog: true,
})
export type WriterSettings = z.infer<typeof writerSettingsSchema>

export interface AuditWriterOptions extends Partial<WriterSettings> {
  /** Clock in epoch ms (tests inject one); default Date.now. */
  now?: () => number
  /** How long a write may wait for the directory lock before it fails (default 60 s). */
  lockTimeoutMs?: number
  /** Failures of background work (compression, retention after a rotation); default: process.emitWarning. */
  onError?: (error: Error) => void
}

/** What `write()` takes; level defaults to info, actor to the OS user, details to {}. */
export interface WriteInput {
  event: string
  level?: string
  actor?: string
  details?: Record<string, unknown>
}

/** An entry as appended: the parsed entry, its exact line (without LF) and its file. */
export interface WrittenEntry {
  entry: AuditEntry
  line: string
  file: string
}

/** The event category auditkit's own records (retention, recovery) use. */
export const RESERVED_CATEGORY = 'audit'

/** A write(2) that failed after `written` bytes of the batch had landed. */
class AppendError extends Error {
  constructor(
    readonly failure: Error,
    readonly written: number,
  ) {
    super(failure.message)
  }
}

/** Bad input to `write()`: nothing was written. */
export class WriteInputError extends Error {}

const inputSchema = z.strictObject({
  event: z
    .string({error: 'event: expected a string'})
    .max(MAX_EVENT_LENGTH, {
      error: (issue) => `event: ${String(issue.input).length} characters; an event name has at most ${MAX_EVENT_LENGTH}`,
      abort: true,
    })
    .regex(EVENT_NAME, {
      error: (issue) => `event "${String(issue.input)}": expected category.action, lowercase [a-z0-9_-] segments joined by dots`,
    })
    // verify trusts audit.retention and audit.recovery to account for removed files and torn lines,
    // so only the writer itself may append events of its own category.
    .refine((event) => !event.startsWith(`${RESERVED_CATEGORY}.`), {
      error: (issue) => `event "${String(issue.input)}": the "${RESERVED_CATEGORY}." category is reserved for auditkit's own records`,
    }),
  level: z.string({error: 'level: expected a string'}).optional(),
  actor: z.string({error: 'actor: expected a string'}).optional(),
  // Checked by jsonProblem first (zod's record check would copy it, dropping an own "__proto__" member).
  details: z
    .custom<Record<string, unknown>>((details) => details !== null && typeof details === 'object' && !Array.isArray(details), {
      error: 'details: expected an object',
    })
    .optional(),
})

/** Checks what `write()` takes without writing anything: the entry's parts, or a WriteInputError. */
export function checkWriteInput(input: WriteInput): {event: string; level: Level; actor?: string; details: Record<string, unknown>} {
  const details = (input as {details?: unknown} | null)?.details
  const problem = details === undefined ? undefined : jsonProblem(details, 'details')
  if (problem) throw new WriteInputError(problem)
  const parsed = inputSchema.safeParse(input)
  if (!parsed.success) throw new WriteInputError(describeInputIssue(parsed.error))
  const level = parsed.data.level === undefined ? 'info' : parseLevel(parsed.data.level)
  if (!level) throw new WriteInputError(`level "${parsed.data.level}": expected one of ${LEVELS.join(', ')}`)
  // The caller's own object, validated as it is.
  return {event: parsed.data.event, level, actor: parsed.data.actor, details: (details as Record<string, unknown> | undefined) ?? {}}
}

/** How deep details may nest; deeper input is refused before anything recursive sees it. */
const MAX_DEPTH = 64

/**
 * Why a value would not survive JSON as it is (so the entry would not say what the caller meant),
 * or undefined: only strings, finite numbers, booleans, null, arrays without holes or extra members,
 * and plain objects pass, nested at most MAX_DEPTH deep. Iterative, so no input can exhaust the stack.
 * `exactIntegers`, for values read from JSON text: integers beyond 2^53 (rounded by JSON.parse) fail too.
 */
export function jsonProblem(root: unknown, rootPath: string, options: {exactIntegers?: boolean} = {}): string | undefined {
  // Items to check, and `leave` marks that end an object's visit: `open` holds the objects being visited.
  const stack: Array<{value: unknown; path: string; depth: number} | {leave: object}> = [{value: root, path: rootPath, depth: 0}]
  const open = new Set<object>()
  // Each value is at least one byte of a line that may hold MAX_LINE_BYTES: more cannot be written anyway.
  let values = 0
  for (let item = stack.pop(); item; item = stack.pop()) {
    if (++values > MAX_LINE_BYTES) return `${rootPath}: more values than an entry can hold`
    if ('leave' in item) {
      open.delete(item.leave)
      continue
    }
    const {value, path, depth} = item
    if (value === null || typeof value === 'string' || typeof value === 'boolean') continue
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return `${path}: ${value} is not a JSON number`
      if (options.exactIntegers && Number.isInteger(value) && !Number.isSafeInteger(value))
        return `${path}: an integer beyond 2^53 loses digits when read; give it as a string`
      continue
    }
    if (typeof value !== 'object') return `${path}: ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`} is not a JSON value`
    if (depth >= MAX_DEPTH) return `${path}: nested deeper than ${MAX_DEPTH} levels`
    if (open.has(value)) return `${path}: circular reference`
    open.add(value)
    stack.push({leave: value})
    if (Array.isArray(value)) {
      if (Object.keys(value).length !== value.length) return `${path}: an array with holes or named members is not a JSON array`
      for (let i = value.length - 1; i >= 0; i--) stack.push({value: value[i], path: `${path}[${i}]`, depth: depth + 1})
      continue
    }
    const proto = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null)
      return `${path}: a ${proto?.constructor?.name ?? 'class instance'} is not a plain JSON object`
    const members = Object.entries(value)
    for (let i = members.length - 1; i >= 0; i--) stack.push({value: members[i][1], path: `${path}.${members[i][0]}`, depth: depth + 1})
  }
  return undefined
}

function describeInputIssue(error: z.ZodError): string {
  const issue = error.issues[0]
  if (issue.code === 'unrecognized_keys') return `unknown member ${issue.keys.map((k) => `"${k}"`).join(', ')}`
  const path = issue.path.map(String).join('.')
  return path === '' || issue.message.startsWith(path) ? issue.message : `${path}: ${issue.message}`
}

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {version: string}).version

function pickSettings(config: Config): WriterSettings {
  return writerSettingsSchema.parse(Object.fromEntries(Object.keys(writerSettingsSchema.shape).map((k) => [k, config[k as keyof Config]])))
}

let osUser: string | undefined
/** The actor when none is given: the OS user running the writer. */
export function defaultActor(): string {
  if (osUser === undefined) {
    try {
      osUser = userInfo().username
    } catch {
      osUser = process.env.USER ?? 'unknown'
    }
  }
  return osUser
}

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
export class AuditWriter {
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
  private forwarder: WriterForwarder | undefined

  private constructor(
    readonly dir: string,
    readonly settings: WriterSettings,
    options: AuditWriterOptions,
  ) {
    this.lock = new DirectoryLock(dir, {timeoutMs: options.lockTimeoutMs})
    this.now = options.now ?? Date.now
    this.onError = options.onError ?? ((error) => process.emitWarning(error.message, 'AuditWriterWarning'))
    this.metadata = settings.include_metadata ? {hostname: hostname(), pid: process.pid, version: VERSION, ...settings.metadata} : {}
    this.excluded = settings.exclude_events.map((g) => globToRegExp(g))
    this.maxBytes = settings.max_file_size * 1024 * 1024
  }

  /**
   * Opens a writer on a directory (created 0700 if missing). Settings not given take their built-in
   * defaults (config/default.yaml); pass `loadConfig().config` to honour config files and AUDIT_*.
   * A torn last line left by a crash is terminated and recorded (`audit.recovery`) here.
   */
  static async open(dir: string, options: AuditWriterOptions = {}): Promise<AuditWriter> {
    const {now, lockTimeoutMs, onError, ...rest} = options
    // A whole Config (from loadConfig) may be passed: its keys that are not writer settings are ignored.
    const given = Object.fromEntries(Object.entries(rest).filter(([k]) => k in writerSettingsSchema.shape || !(k in configSchema.shape)))
    const defaults = pickSettings(readDefaults())
    // A partial syslog object (say, only a url) takes the other keys from the defaults.
    if (given.syslog && typeof given.syslog === 'object') given.syslog = {...defaults.syslog, ...given.syslog}
    const parsed = writerSettingsSchema.partial().safeParse(given)
    if (!parsed.success) throw new WriteInputError(`AuditWriter options: ${describeInputIssue(parsed.error)}`)
    const settings: WriterSettings = {...defaults, ...Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined))}
    const writer = new AuditWriter(dir, settings, {now, lockTimeoutMs, onError})
    if (settings.enabled) writer.forwarder = WriterForwarder.fromSettings(settings.syslog, writer.onError)
    if (settings.enabled) {
      makeDirectory(dir)
      // Under the lock: another writer may be between moving a file into a part and closing it.
      await writer.withLock(async () => writer.finishInterrupted((await writer.findHead(writer.now())).files))
    }
    return writer
  }

  /**
   * Finishes what a writer killed (or failing) mid-way left: its compression's temporary file,
   * numbered parts not yet made read-only (a rotation or recovery cut short), closed parts still plain.
   */
  private finishInterrupted(files: LogFile[]): void {
    for (const path of staleCompressionTemps(this.dir)) unlinkQuiet(path)
    const compressed = new Set(files.filter((f) => f.gzip).map((f) => plainName(f.name)))
    // Not the newest file: a recovery cut short may have left the chain's end in a part, to be appended to.
    for (const file of files.slice(0, -1)) {
      const info = file.gzip || compressed.has(file.name) ? undefined : statSync(file.path, {throwIfNoEntry: false})
      if (!info) continue
      if (!isClosed(file, info.mode)) {
        if (Number.isFinite(file.part)) this.closeFile(file.path)
      } else if (this.settings.compress) {
        this.track(compressClosed(file.path, this.settings.fsync !== 'never'))
      }
    }
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
    const entry = {event, level, actor: actor ?? defaultActor(), details}
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
      const {planned, earlier} = await planRetentionWithHistory(this.dir, this.settings.retention_days, this.now())
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
    if (last && !last.gzip && last.part === Number.POSITIVE_INFINITY && repairHalfRotation(last, files))
      files = await listLogFiles(this.dir)
    const newest = files.at(-1)
    let head: string | undefined
    let tail: ReturnType<typeof readTail> | undefined
    const info = newest && !newest.gzip ? statSync(newest.path) : undefined
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

  /** Makes a file read-only, so no writer appends to it again, and gzips it (after the lock) with `compress`. */
  private closeFile(path: string): void {
    chmodSync(path, CLOSED_MODE)
    if (this.settings.compress) this.track(compressClosed(path, this.settings.fsync !== 'never'))
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
   * Closed files are made read-only and, with `compress`, gzipped after the lock is released.
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
      if (newest && newest !== current && newest.day < day && !newest.gzip) {
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

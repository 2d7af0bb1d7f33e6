import type {KeyObject} from 'node:crypto'
import {type FileHandle, stat} from 'node:fs/promises'
import {availableParallelism} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import type {Worker} from 'node:worker_threads'
import {createGunzip} from 'node:zlib'

import {
  checkLogDirectory,
  compareLogFiles,
  currentForms,
  DAY_MS,
  DAY_SLACK_MS,
  dayStart,
  describeFsError,
  type LogFile,
  listLogFiles,
  NOT_REGULAR,
  openRegular,
  parseLogFileName,
  plainName,
  readRegularFile,
  UnreadableFileError,
} from '../store/files.js'
import {MAX_LINE_BYTES} from '../events/model.js'
import {startWorker} from '../threads.js'
import {type Checkpoint, checkSequence, DEFAULT_CHECKPOINT_NAME, type FileCommitment, keyId, readCheckpointText} from './checkpoint.js'
import {Sha256Stream, sha256Hex, sha256Into} from '../chain/hash.js'
import {parseLossless} from './loki-canonical.js'
import {GENESIS} from '../chain/native.js'
import {
  type ChainProfile,
  HEADROOM,
  nativeBodyNote,
  OTHER_RECORD,
  type RunItem,
  type ScanRequest,
  type ScanResult,
  scanBlock,
  type SpecialItem,
  tooLongItem,
} from './verify-scan.js'

export type {ChainProfile} from './verify-scan.js'

export type VerifyProblemKind =
  | 'hash-mismatch'
  | 'chain-break'
  | 'chain-start'
  | 'malformed'
  | 'not-object'
  | 'duplicate-key'
  | 'unchained'
  | 'torn-line'
  | 'utf8'
  | 'too-long'
  | 'truncated-gzip'
  | 'retention-record'
  | 'unreadable'
  | 'file-missing'
  | 'entries-missing'
  | 'checkpoint'
  /** A problem in the checkpoint file itself (or its absence): its `file` is that file's path. */
  | 'checkpoint-file'
  /** The directory holds no log file at all: its `file` is the directory. */
  | 'no-log-files'
  /** --strict: a chained line whose link holds but that the writer cannot have written. */
  | 'not-canonical'
  | 'invalid-entry'

export interface VerifyProblem {
  kind: VerifyProblemKind
  /** A log file name (no directory), or the checkpoint file's path for problems of a checkpoint. */
  file: string
  /** 1-based line; absent for a whole-file problem. */
  line?: number
  message: string
}

export interface FileReport {
  file: string
  profile: ChainProfile
  lines: number
  /** Chained entries. */
  entries: number
  problems: number
  valid: boolean
  /** A file that checkpoints name but the directory no longer holds. */
  missing?: boolean
  /** What a checkpoint (v2) pins of the whole file as read (for the newest, without a last line still being written). */
  commitment?: FileCommitment
}

export interface VerifyReport {
  dir: string
  valid: boolean
  files: FileReport[]
  filesValid: number
  filesInvalid: number
  /** Chained entries checked. */
  entries: number
  /** Entries without a hash: unprotected. */
  unchained: number
  firstProblem: {file: string; line?: number} | null
  /** The last chained entry; `bytes` and `other` pin its file up to it (see FileCommitment). */
  head: {file: string; line: number; hash: string; bytes?: number; other?: string} | null
  /** Entries from the start of the chain to the head, counting entries pruned by retention when known. */
  chainLength: number
  checkpoints: {file: string; count: number; signaturesChecked: boolean; keyId?: string; lastSealed?: number; lastHeadFile?: string} | null
  /** Entries after the last checkpoint that holds (all of them without checkpoints). */
  notSealed: number
  /** Things that are fine but worth saying: pruned files, recovered torn lines, a write in progress. */
  notes: string[]
  problems: VerifyProblem[]
  /** Problems beyond the first MAX_REPORTED, counted but not listed. */
  problemsOmitted: number
}

export interface VerifyOptions {
  /** Read every file as this profile instead of recognising each by its content. */
  profile?: ChainProfile
  /** Checkpoint file; by default `audit.checkpoints` in the log directory when it exists; null for none. */
  checkpoints?: string | null
  /** Ed25519 public key: checkpoint signatures are checked only with it. */
  pubkey?: KeyObject
  /**
   * Parse every chained line, not only those whose link fails: report duplicate keys, members not
   * as the writer serializes them and entries that fail the event model (native profile).
   */
  strict?: boolean
  /** Worker threads for hashing; 0 hashes in this thread. Default: by log size and cores. */
  threads?: number
  /**
   * The retention policy, in days: a file pruned (on an audit.retention entry's word) whose entries
   * were not all older than this when it was pruned is a problem, whatever the entry says. 0 or absent: no policy.
   */
  retentionDays?: number
  /** The verifier's clock (tests); an audit.retention entry may not be stamped after it. */
  now?: Date
  onProblem?: (problem: VerifyProblem) => void
  onProgress?: (progress: {entries: number; file: string; fileIndex: number; files: number}) => void
}

export class VerifyError extends Error {}

const MAX_REPORTED = 1000
const HEX64 = /^[0-9a-f]{64}$/
const MAX_PENDING = 10_000
const BLOCK_BYTES = 1024 * 1024
/** Below this many bytes of logs, starting worker threads costs more than it saves. */
const INLINE_BYTES = 4 * 1024 * 1024

// Run from source (tests, tsx), the worker is TypeScript and needs the tsx loader too.
/** Round-robin worker threads running scanBlock. */
class Pool {
  private readonly workers: Worker[] = []
  private readonly waiting = new Map<number, {resolve: (r: ScanResult) => void; reject: (e: Error) => void}>()
  private nextId = 0

  constructor(
    size: number,
    private readonly buffers: Buffers,
  ) {
    for (let i = 0; i < size; i++) {
      const worker = startWorker('verify-worker', import.meta.url, {
        resourceLimits: {maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 16},
      })
      worker.on('message', ({id, result, buf}: {id: number; result: ScanResult; buf: Uint8Array}) => {
        this.buffers.release(buf.buffer as ArrayBuffer)
        this.waiting.get(id)?.resolve(result)
        this.waiting.delete(id)
      })
      worker.on('error', (error) => {
        for (const w of this.waiting.values()) w.reject(error)
        this.waiting.clear()
      })
      this.workers.push(worker)
    }
  }

  scan(request: ScanRequest): Promise<ScanResult> {
    const id = this.nextId++
    const worker = this.workers[id % this.workers.length]
    return new Promise((resolve, reject) => {
      this.waiting.set(id, {resolve, reject})
      worker.postMessage({...request, id}, [request.buf.buffer as ArrayBuffer])
    })
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()))
  }
}

/** Block buffers come back from the workers and are used again, so memory stays flat. */
class Buffers {
  private readonly free: ArrayBuffer[] = []

  /** A buffer of at least `size` bytes. */
  take(size: number): Buffer {
    const reused = this.free.pop()
    if (reused && reused.byteLength >= size) return Buffer.from(reused, 0, size)
    // Room for a carried partial line too, so the next block fits a reused buffer.
    return Buffer.from(Buffer.allocUnsafeSlow(Math.max(size, HEADROOM + BLOCK_BYTES + 64 * 1024)).buffer, 0, size)
  }

  release(buffer: ArrayBuffer): void {
    if (buffer.byteLength >= HEADROOM + BLOCK_BYTES && this.free.length < 16) this.free.push(buffer)
  }
}

interface FileEnd {
  /** Bytes after the last LF. */
  tail?: Buffer
  error?: {kind: 'truncated-gzip' | 'unreadable'; reason: string}
}

/** Cuts a block at its last LF: the block to scan (or undefined) and the bytes to carry on. */
function cut(block: Buffer, filled: number): {block?: Buffer; carry: Buffer} {
  const last = block.lastIndexOf(10, filled - 1)
  if (last < HEADROOM) return {carry: Buffer.from(block.subarray(HEADROOM, filled))}
  return {block: block.subarray(0, last + 1), carry: Buffer.from(block.subarray(last + 1, filled))}
}

/** A log file as listed, with the descriptor opened for it at that moment (see openSnapshot). */
interface Opened extends LogFile {
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
/** Listings tried before verifying the last one as it is (a rotation takes a few syscalls). */
const SNAPSHOT_TRIES = 20

async function closeAll(files: Opened[]): Promise<void> {
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
 * changed inode while it opened them (if one did, it starts over, a bounded number of times).
 * What it then reads is one state of the directory: closed parts never change, a gzipped or pruned
 * file stays readable through its descriptor, and the live file only grows (verify checks the
 * prefix it reads). Descriptors rather than re-verifying on a problem: nothing is read twice, a
 * long run cannot be outpaced by a busy writer, and problems can be printed as they are found.
 * Beyond MAX_HELD files only the newest are held; older ones are long closed and opened by name.
 */
async function openSnapshot(dir: string): Promise<Opened[]> {
  for (let attempt = 1; ; attempt++) {
    const files: Opened[] = (await listLogFiles(dir)).map((f) => ({...f, size: 0}))
    let changed = false
    await Promise.all(
      files.slice(-MAX_HELD).map(async (f) => {
        try {
          f.handle = await openRegular(f.path)
          const info = await f.handle.stat()
          Object.assign(f, {size: info.size, dev: info.dev, ino: info.ino})
        } catch (error) {
          f.error = error as NodeJS.ErrnoException
          if (f.error.code === 'ENOENT') changed = true
        }
      }),
    )
    if (files.some((f) => f.error?.code === 'EMFILE' || f.error?.code === 'ENFILE')) {
      // Out of descriptors: open each file by name when its turn comes.
      await closeAll(files)
      for (const f of files) f.error = undefined
      return files
    }
    if (!changed) changed = await changedSince(dir, files)
    if (!changed) return files
    if (attempt === SNAPSHOT_TRIES) {
      // Still moving: a file gone since the listing is looked for again when its turn comes (a part, as its .gz).
      for (const f of files) if (f.error?.code === 'ENOENT') f.error = undefined
      return files
    }
    await closeAll(files)
    await sleep(attempt)
  }
}

/** Opens a file that was not held: a plain part gzipped since the listing is read from its .gz. */
async function openLate(file: Opened): Promise<{handle: FileHandle; gzip: boolean}> {
  const [listed, compressed] = currentForms(file)
  try {
    return {handle: await openRegular(listed.path), gzip: listed.gzip}
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !compressed) throw error
    return {handle: await openRegular(compressed.path), gzip: true}
  }
}

/**
 * Streams a file as LF-terminated blocks, each in its own buffer with HEADROOM free bytes in
 * front (so it can be moved to a worker and hashed in place). What follows the last LF and any
 * read error land in `end`. Plain files are read straight into the block buffers. A line longer
 * than a line may be (no LF for over MAX_LINE_BYTES: a zero-filled tail after a power loss, say)
 * is skipped, not gathered, and comes as its length in bytes.
 */
async function* fileBlocks(file: Opened, end: FileEnd, buffers: Buffers): AsyncGenerator<Buffer | number> {
  let carry: Buffer = Buffer.alloc(0)
  let skipping = 0 // bytes so far of an over-long line being skipped
  let gzip = file.gzip
  const next = (size: number): Buffer => {
    const block = buffers.take(HEADROOM + carry.length + size)
    carry.copy(block, HEADROOM)
    return block
  }
  /** Takes a block filled up to `filled`: yields what is complete, keeps the rest. */
  function* settle(block: Buffer, filled: number): Generator<Buffer | number> {
    if (skipping > 0) {
      const lf = block.indexOf(10, HEADROOM)
      if (lf < 0 || lf >= filled) {
        skipping += filled - HEADROOM
        return
      }
      yield skipping + lf - HEADROOM
      skipping = 0
      carry = Buffer.from(block.subarray(lf + 1, filled))
      block = next(0)
      filled = HEADROOM + carry.length
    }
    const parts = cut(block, filled)
    carry = parts.carry
    if (parts.block) yield parts.block
    if (carry.length > MAX_LINE_BYTES) {
      skipping = carry.length
      carry = Buffer.alloc(0)
    }
  }
  try {
    if (file.error) throw file.error
    let handle = file.handle
    if (!handle) ({handle, gzip} = await openLate(file))
    file.handle = handle
    if (gzip) {
      const source = handle.createReadStream({start: 0, highWaterMark: BLOCK_BYTES, autoClose: false})
      const gunzip = createGunzip({chunkSize: BLOCK_BYTES})
      source.on('error', (error) => gunzip.destroy(error)) // pipe() does not pass read errors on
      try {
        for await (const chunk of source.pipe(gunzip) as AsyncIterable<Buffer>) {
          const block = next(chunk.length)
          chunk.copy(block, HEADROOM + carry.length)
          yield* settle(block, HEADROOM + carry.length + chunk.length)
        }
      } finally {
        source.destroy()
      }
    } else {
      for (let position = 0; ; ) {
        const block = next(BLOCK_BYTES)
        const {bytesRead} = await handle.read(block, HEADROOM + carry.length, BLOCK_BYTES, position)
        if (bytesRead === 0) break
        position += bytesRead
        yield* settle(block, HEADROOM + carry.length + bytesRead)
      }
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    // Not readable by this user: nothing can be said about the file, which is no sign of tampering.
    if (code === 'EACCES' || code === 'EPERM') throw new UnreadableFileError(file.path, error)
    end.error =
      gzip && code?.startsWith('Z_')
        ? {
            kind: 'truncated-gzip',
            reason: `truncated or corrupt gzip (${(error as Error).message}); the entries before the damage were checked`,
          }
        : {kind: 'unreadable', reason: `cannot be read (${describeFsError(error)})`}
  } finally {
    const {handle} = file
    file.handle = undefined
    await handle?.close().catch(() => {})
  }
  if (skipping > 0) yield skipping
  if (carry.length > 0) end.tail = carry
}

/** What scanning an over-long line, skipped by fileBlocks, finds: one line, reported by its length. */
function tooLong(bytes: number): ScanResult {
  // Not read, so not hashed: its length stands in (a line this long is a problem anyway).
  const others = Buffer.alloc(OTHER_RECORD)
  others.writeDoubleLE(1, 0)
  others.writeDoubleLE(bytes, 8)
  return {lines: 1, chained: 0, items: [tooLongItem(1, bytes)], others}
}

/** Recognises a file's profile from its first lines: loki-mode entries have action and resource_type, no event. */
function detectProfile(block: Buffer): ChainProfile {
  let pos = HEADROOM
  for (let tries = 0; tries < 10 && pos < block.length; tries++) {
    const nl = block.indexOf(10, pos)
    const text = block.toString('utf8', pos, nl)
    pos = nl + 1
    if (text.trim() === '') continue
    const parsed = parseLossless(text)
    if (!parsed.ok || parsed.value.t !== 'obj') continue
    const keys = new Set(parsed.value.entries.map(([k]) => k))
    return keys.has('action') && keys.has('resource_type') && !keys.has('event') ? 'loki' : 'native'
  }
  return 'native'
}

interface Fragment {
  kind: 'malformed' | 'not-object' | 'utf8' | 'too-long'
  file: string
  fileIndex: number
  line: number
  reason: string
  key?: string
}

interface Anchor {
  file: string
  line: number
  removed: string[]
  /** Entries pruned before the chain starts from this anchor (earlier records' included). */
  entries: number
}

/** What a well-formed audit.retention entry says it removed. */
interface RemovedRecord {
  file: string
  entries: number
  last: string | null
  last_hash: string
}

/** What the first audit.retention entry in the log says earlier prunes (whose records were pruned too) removed. */
interface Earlier {
  /** The last file they removed: every file up to it was pruned before. */
  through: string
  entries: number
}

/** A pruned file as the records say: where, and the entries pruned before it and up to its end. */
interface Pruned {
  record: string
  before: number
  through: number
  lastHash: string
}

interface Mark {
  file: string
  line: number
  count: number
  /** Its file's bytes up to the end of its line, and the digest of the other lines before it. */
  bytes?: number
  other?: string
}

interface Located extends VerifyProblem {
  fileIndex: number
}

/** One pass over a directory in chain order, with everything that must be seen in order. */
class Verification {
  readonly problems: Located[] = []
  problemCount = 0
  first: Located | undefined
  readonly notes: string[] = []
  readonly fileReports: FileReport[] = []
  entries = 0
  unchained = 0
  prev: string | undefined
  prevFile: string | undefined
  head: VerifyReport['head'] = null
  /** The first chained entry when it does not chain from genesis: settled by a retention anchor at the end. */
  pendingStart: {file: string; fileIndex: number; line: number; body: string; hash: string} | undefined
  readonly anchors = new Map<string, Anchor>()
  /** Files named by audit.retention entries (plain names). */
  readonly removed = new Map<string, Pruned>()
  /** From the first audit.retention entry in the log: what earlier prunes removed. */
  earlier: Earlier | undefined
  /** audit.retention entries seen, and the entries they say were pruned so far. */
  private records = 0
  private prunedEntries = 0
  /** Timestamp of the last chained native line so far, and audit.retention entries waiting for the next one's. */
  private lastTime: number | undefined
  private awaitingNext: Array<{time: number; file: string; fileIndex: number; line: number}> = []
  readonly recoveries = new Map<string, string>()
  readonly fragments: Fragment[] = []
  readonly marks = new Map<string, Mark>()
  readonly fileLines = new Map<string, number>()
  /** The file being read: its bytes so far, and the digest of its lines that are not chained entries. */
  private fileBytes = 0
  private others = new Sha256Stream()
  private unchainedRange: {file: string; fileIndex: number; from: number; to: number} | undefined

  constructor(
    private readonly onProblem?: (problem: VerifyProblem) => void,
    private readonly strict = false,
    private readonly policyDays = 0,
    private readonly now = Date.now(),
  ) {}

  problem(p: Located): void {
    this.problemCount++
    const report = this.fileReports[p.fileIndex]
    if (report) {
      report.problems++
      report.valid = false
    }
    if (this.problems.length < MAX_REPORTED) this.problems.push(p)
    // Problems are not found in location order (bad lines are settled at the end): the first is kept apart from the capped list.
    if (
      !this.first ||
      p.fileIndex < this.first.fileIndex ||
      (p.fileIndex === this.first.fileIndex && (p.line ?? 0) < (this.first.line ?? 0))
    )
      this.first = p
    const {fileIndex: _, ...plain} = p
    this.onProblem?.(plain)
  }

  private flushUnchained(): void {
    const r = this.unchainedRange
    if (!r) return
    this.unchainedRange = undefined
    const n = r.to - r.from + 1
    const lines = n === 1 ? `line ${r.from}` : `lines ${r.from}-${r.to}`
    this.problem({
      kind: 'unchained',
      file: r.file,
      fileIndex: r.fileIndex,
      line: r.from,
      message: `${n === 1 ? 'entry' : `${n} entries`} without a hash (${lines}): unprotected, cannot be verified`,
    })
  }

  /** Checks the link into a run's first line; returns whether it holds. */
  private link(
    file: string,
    fileIndex: number,
    fileEntries: number,
    line: number,
    body: string,
    hash: string,
    profile: ChainProfile,
  ): boolean {
    if (this.prev === undefined) {
      if (sha256Hex(GENESIS + body) === hash) return true
      this.pendingStart = {file, fileIndex, line, body, hash}
      return false
    }
    if (sha256Hex(this.prev + body) === hash) return true
    // --strict reports what is wrong with every chained line on its own.
    const note = profile === 'native' && !this.strict ? nativeBodyNote(body) : undefined
    if (fileEntries === 0 && this.prevFile !== undefined && this.prevFile !== file) {
      this.problem({
        kind: 'chain-break',
        file,
        fileIndex,
        line,
        message: `chain break between files: does not chain from the last entry of ${this.prevFile} (a file between them is missing, or this entry was altered)${note ? `; the entry is ${note}` : ''}`,
      })
    } else {
      this.problem({
        kind: 'hash-mismatch',
        file,
        fileIndex,
        line,
        message: `hash mismatch: this entry was altered, or entries before it were deleted, inserted or reordered${note ? `; the entry is ${note}` : ''}`,
      })
    }
    return false
  }

  private special(item: SpecialItem, file: string, fileIndex: number, line: number): void {
    let entry: {event?: unknown; timestamp?: unknown; details?: Record<string, unknown>}
    try {
      entry = JSON.parse(item.text)
    } catch {
      return
    }
    const details = entry.details ?? {}
    if (entry.event === 'audit.retention') {
      this.retention(entry.timestamp, details, item, {file, fileIndex, line})
    } else if (entry.event === 'audit.recovery') {
      // The writer ends a torn last line and appends its record as the very next line of the same
      // file, in one write: a record anywhere else (another file, a later line) excuses nothing.
      const {file: f, line: l, fragment_bytes: bytes, fragment_sha256: sha} = details
      if (
        typeof f === 'string' &&
        plainName(f) === plainName(file) &&
        l === line - 1 &&
        Number.isSafeInteger(bytes) &&
        typeof sha === 'string'
      ) {
        this.recoveries.set(fragmentKey(file, line - 1, bytes as number, sha), `${file}:${line}`)
      }
    }
  }

  /**
   * An audit.retention entry: it excuses the files it names only if it is what auditkit's writer
   * writes. Anyone who can append to the log can append a chained entry, so every claim it makes
   * that can be checked is: its retention_days, its time against its neighbours' and the
   * verifier's clock, each file's day and last entry against that, and (at the end) its counts
   * against the checkpoints.
   */
  private retention(
    stamp: unknown,
    details: Record<string, unknown>,
    item: SpecialItem,
    at: {file: string; fileIndex: number; line: number},
  ): void {
    const bad = (message: string): void =>
      this.problem({kind: 'retention-record', ...at, message: `audit.retention entry ${message}: not a prune auditkit makes`})
    const time = typeof stamp === 'string' ? Date.parse(stamp) : Number.NaN
    const days = details.retention_days
    const validDays = Number.isSafeInteger(days) && (days as number) >= 1
    if (!validDays) bad(`has retention_days ${days === undefined ? 'missing' : JSON.stringify(days)}, not a positive whole number of days`)
    if (Number.isNaN(time)) bad('has no valid timestamp')
    const prevTime = item.prevTime ?? this.lastTime
    if (!Number.isNaN(time) && prevTime !== undefined && !Number.isNaN(prevTime) && time < prevTime - DAY_SLACK_MS)
      bad(`is stamped ${iso(time)}, before the entry it follows (${iso(prevTime)})`)
    if (!Number.isNaN(time)) {
      const check = {time, ...at}
      if (item.nextTime === undefined) this.awaitingNext.push(check)
      else this.checkNext(check, item.nextTime)
    }
    const list = Array.isArray(details.removed) ? (details.removed as unknown[]) : []
    if (list.length === 0) bad('names no removed file')
    const removed: RemovedRecord[] = []
    for (const r of list) {
      const {file, entries, last, last_hash: lastHash} = (r ?? {}) as Record<string, unknown>
      const name = typeof file === 'string' ? file : String(file)
      const parsed = typeof file === 'string' ? parseLogFileName(file) : undefined
      if (!parsed) bad(`names ${JSON.stringify(name)}, not a log file`)
      else if (!Number.isSafeInteger(entries) || (entries as number) < 0) bad(`gives ${name} no entry count`)
      else if (typeof lastHash !== 'string' || !HEX64.test(lastHash)) bad(`gives ${name} no last hash`)
      else if (!(typeof last === 'string' && !Number.isNaN(Date.parse(last))) && !(last === null && entries === 0))
        bad(`gives ${name}, with ${count(entries as number, 'entry', 'entries')}, no time for its last entry`)
      else {
        removed.push({file: name, entries: entries as number, last: last as string | null, last_hash: lastHash})
        // The writer removes only whole days older than retention_days, whose every entry is older
        // still, by the clock that stamped this entry (a few minutes' slack for a clock stepped back).
        const youngest = Math.max(dayStart(parsed.day) + DAY_MS, typeof last === 'string' ? Date.parse(last) + 1 : 0)
        if (validDays && !Number.isNaN(time) && youngest > time - (days as number) * DAY_MS + DAY_SLACK_MS) {
          bad(
            `removes ${name}, whose last entry (${String(last ?? `none, a file of ${parsed.day}`)}) is not older than its retention_days (${String(days)})`,
          )
        } else if (this.policyDays > 0 && !Number.isNaN(time) && youngest > time - this.policyDays * DAY_MS + DAY_SLACK_MS) {
          this.problem({
            kind: 'retention-record',
            ...at,
            message: `audit.retention entry removes ${name}, whose last entry (${String(last ?? `none, a file of ${parsed.day}`)}) was younger than the retention policy of ${count(this.policyDays, 'day')} when it was pruned (${iso(time)})`,
          })
        }
      }
    }
    if (this.records++ === 0) {
      // Earlier prunes, whose records were in files pruned since: the writer carries them forward.
      const e = details.earlier as {through?: unknown; entries?: unknown} | undefined
      const through = e && typeof e.through === 'string' ? parseLogFileName(e.through) : undefined
      if (through && Number.isSafeInteger(e!.entries) && (e!.entries as number) >= 0) {
        this.earlier = {through: e!.through as string, entries: e!.entries as number}
        this.prunedEntries = this.earlier.entries
        const first = removed[0] && parseLogFileName(removed[0].file)
        if (first && compareLogFiles({...through, gzip: false}, {...first, gzip: false}) >= 0)
          bad(`says earlier prunes removed files up to ${this.earlier.through}, which is not before the first file it removes`)
        if (this.policyDays > 0 && !Number.isNaN(time) && dayStart(through.day) + DAY_MS > time - this.policyDays * DAY_MS + DAY_SLACK_MS) {
          this.problem({
            kind: 'retention-record',
            ...at,
            message: `audit.retention entry says earlier prunes removed files up to ${this.earlier.through}, a file younger than the retention policy of ${count(this.policyDays, 'day')} when it was stamped (${iso(time)})`,
          })
        }
      }
    }
    // Each removed file's last hash may start the chain: a prune cut short between its unlinks leaves later ones present.
    let entries = this.prunedEntries
    removed.forEach((r, i) => {
      this.removed.set(plainName(r.file), {
        record: `${at.file}:${at.line}`,
        before: entries,
        through: entries + r.entries,
        lastHash: r.last_hash,
      })
      entries += r.entries
      this.anchors.set(r.last_hash, {file: at.file, line: at.line, removed: removed.slice(0, i + 1).map((x) => x.file), entries})
    })
    this.prunedEntries = entries
  }

  /** An audit.retention entry is never stamped after the entry that follows it (or, as the last, after the verifier's clock). */
  private checkNext(check: {time: number; file: string; fileIndex: number; line: number}, next: number | undefined): void {
    const {time, ...at} = check
    const limit = next === undefined || Number.isNaN(next) ? this.now : next
    if (time > limit + DAY_SLACK_MS) {
      this.problem({
        kind: 'retention-record',
        ...at,
        message: `audit.retention entry is stamped ${iso(time)}, after ${next === undefined ? `the verifier's clock (${iso(this.now)})` : `the entry that follows it (${iso(limit)})`}: not a prune auditkit makes`,
      })
    }
  }

  /** Folds one scanned block of a file into the state, in chain order. */
  consume(
    ctx: {file: string; fileIndex: number; profile: ChainProfile; lineBase: number; entries: number},
    result: ScanResult,
    bytes: number,
  ): void {
    const blockBase = this.entries
    if (result.firstTime !== undefined) for (const check of this.awaitingNext.splice(0)) this.checkNext(check, result.firstTime)
    let runLine = -1
    let runLinked = false
    for (const item of result.items) {
      const line = ctx.lineBase + item.line
      switch (item.k) {
        case 'run': {
          this.flushUnchained()
          runLine = line
          runLinked = this.link(ctx.file, ctx.fileIndex, ctx.entries, line, item.firstBody, item.firstHash, ctx.profile)
          this.prev = item.lastHash
          this.prevFile = ctx.file
          ctx.entries += item.count
          this.entries += item.count
          this.head = {file: ctx.file, line: ctx.lineBase + item.lastLine, hash: item.lastHash}
          break
        }
        case 'special': {
          if (line !== runLine || runLinked) this.special(item, ctx.file, ctx.fileIndex, line)
          break
        }
        case 'mark': {
          if (!this.marks.has(item.hash)) this.marks.set(item.hash, {file: ctx.file, line, count: blockBase + item.before + 1})
          break
        }
        case 'bad': {
          if (item.kind === 'unchained') {
            this.unchained++
            const r = this.unchainedRange
            if (r && r.file === ctx.file && r.to === line - 1) r.to = line
            else {
              this.flushUnchained()
              this.unchainedRange = {file: ctx.file, fileIndex: ctx.fileIndex, from: line, to: line}
            }
          } else if (item.kind === 'duplicate-key' || item.kind === 'not-canonical' || item.kind === 'invalid-entry') {
            this.problem({kind: item.kind, file: ctx.file, fileIndex: ctx.fileIndex, line, message: item.reason})
          } else {
            this.fragment({
              kind: item.kind,
              file: ctx.file,
              fileIndex: ctx.fileIndex,
              line,
              reason: item.reason,
              key: item.bytes === undefined || item.sha256 === undefined ? undefined : fragmentKey(ctx.file, line, item.bytes, item.sha256),
            })
          }
          break
        }
      }
    }
    this.commit(ctx, result)
    this.fileBytes += bytes
    ctx.lineBase += result.lines
    if (result.lastTime !== undefined) this.lastTime = result.lastTime
  }

  /** Feeds the block's other lines into the file's digest, taking it at each checkpoint head and at the chain head. */
  private commit(ctx: {file: string; lineBase: number}, result: ScanResult): void {
    const others = Buffer.from(result.others.buffer, result.others.byteOffset, result.others.byteLength)
    // Each record's line, from the block's to the file's, in place; then fed in runs.
    for (let at = 0; at < others.length; at += OTHER_RECORD) others.writeDoubleLE(ctx.lineBase + others.readDoubleLE(at), at)
    let o = 0
    const feed = (before: number): void => {
      const from = o
      while (o < others.length && others.readDoubleLE(o) < ctx.lineBase + before) o += OTHER_RECORD
      if (o > from) this.others.update(others.subarray(from, o))
    }
    let lastRun: RunItem | undefined
    for (const item of result.items) {
      if (item.k === 'run') lastRun = item
      if (item.k !== 'mark') continue
      const mark = this.marks.get(item.hash)
      if (!mark || mark.file !== ctx.file || mark.line !== ctx.lineBase + item.line || mark.bytes !== undefined) continue
      feed(item.line)
      mark.bytes = this.fileBytes + item.end
      mark.other = this.others.peek()
    }
    if (lastRun && this.head) {
      feed(lastRun.lastLine)
      this.head.bytes = this.fileBytes + lastRun.lastEnd
      this.head.other = this.others.peek()
    }
    feed(Number.POSITIVE_INFINITY)
  }

  /** A bad line is held until the end: a later audit.recovery entry may account for it. */
  private fragment(f: Fragment): void {
    this.fragments.push(f)
    if (this.fragments.length > MAX_PENDING) this.settleFragment(this.fragments.shift()!)
  }

  private settleFragment(f: Fragment): void {
    const by = f.key === undefined ? undefined : this.recoveries.get(f.key)
    if (by) this.notes.push(`${f.file}:${f.line}: torn line recovered (audit.recovery at ${by})`)
    else this.problem({kind: f.kind, file: f.file, fileIndex: f.fileIndex, line: f.line, message: f.reason})
  }

  endFile(ctx: {file: string; fileIndex: number; lineBase: number; entries: number}, end: FileEnd, newest: boolean): void {
    this.flushUnchained()
    let lines = ctx.lineBase
    if (end.tail && !newest) {
      const record = Buffer.alloc(OTHER_RECORD)
      record.writeDoubleLE(lines + 1, 0)
      sha256Into(end.tail, record, 8)
      this.others.update(record)
      this.fileBytes += end.tail.length
    }
    this.fileReports[ctx.fileIndex].commitment = {
      file: ctx.file,
      bytes: this.fileBytes,
      lines: lines + (end.tail && !newest ? 1 : 0),
      entries: ctx.entries,
      lastHash: this.prev ?? GENESIS,
      other: this.others.peek(),
    }
    this.fileBytes = 0
    this.others = new Sha256Stream()
    if (end.tail) {
      lines++
      if (newest) {
        this.notes.push(
          `${ctx.file}:${lines}: last line incomplete (${count(end.tail.length, 'byte')} without a newline; a write in progress?), not checked`,
        )
      } else {
        this.fragment({
          kind: 'malformed',
          file: ctx.file,
          fileIndex: ctx.fileIndex,
          line: lines,
          reason: `torn line: ${count(end.tail.length, 'byte')} without a final newline`,
          key: fragmentKey(ctx.file, lines, end.tail.length, sha256Hex(end.tail)),
        })
      }
    }
    if (end.error) this.problem({kind: end.error.kind, file: ctx.file, fileIndex: ctx.fileIndex, message: end.error.reason})
    this.fileLines.set(ctx.file, lines)
    this.fileReports[ctx.fileIndex].lines = lines
  }

  settle(): {anchor?: Anchor} {
    for (const f of this.fragments.splice(0)) this.settleFragment(f)
    for (const check of this.awaitingNext.splice(0)) this.checkNext(check, undefined)
    const start = this.pendingStart
    if (!start) return {}
    for (const [hash, anchor] of this.anchors) {
      if (sha256Hex(hash + start.body) === start.hash) {
        this.notes.push(
          `the chain starts at ${start.file}:${start.line} from the last entry of ${anchor.removed.at(-1)}, pruned by retention (audit.retention at ${anchor.file}:${anchor.line})`,
        )
        return {anchor}
      }
    }
    this.problem({
      kind: 'chain-start',
      file: start.file,
      fileIndex: start.fileIndex,
      line: start.line,
      message:
        'the first chained entry does not chain from genesis, and no audit.retention entry records the files before it: earlier files or entries were deleted, or this entry was altered',
    })
    return {}
  }
}

/**
 * Whether a file named when sealing can be `now`'s file: the same part, gzipped or not, or the day's
 * live file since rotated into a numbered part (rotation renames a whole file, so lines stay put).
 */
function sameFile(sealed: string, now: string): boolean {
  const a = parseLogFileName(sealed)
  const b = parseLogFileName(now)
  if (!a || !b) return sealed === now
  return a.day === b.day && (a.part === b.part || a.part === Number.POSITIVE_INFINITY)
}

/** Whether a file sorts at or before the last file that earlier prunes removed (compared as parts, gzipped or not). */
function prunedEarlier(name: string, earlier: Earlier | undefined): boolean {
  const named = parseLogFileName(name)
  const through = earlier && parseLogFileName(earlier.through)
  return named !== undefined && through !== undefined && compareLogFiles({...named, gzip: false}, {...through, gzip: false}) <= 0
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}

/** What identifies a bad line to the `audit.recovery` record that may account for it. */
function fragmentKey(file: string, line: number, bytes: number, sha256: string): string {
  return `${plainName(file)}\n${line}\n${bytes}\n${sha256}`
}

/**
 * Each file a v2 checkpoint sealed whole must be here as sealed, or be accounted for by retention:
 * named by an audit.retention entry with its count and last hash, or pruned before the files the
 * first such entry names.
 */
function checkClosedFiles(state: Verification, checkpoints: Checkpoint[], files: Opened[]): void {
  const sealed = new Map<string, {cp: Checkpoint; file: FileCommitment}>()
  for (const cp of checkpoints)
    for (const file of cp.closed ?? []) if (!sealed.has(plainName(file.file))) sealed.set(plainName(file.file), {cp, file})
  const present = new Map(state.fileReports.filter((r) => !r.missing).map((r, i) => [plainName(r.file), {report: r, fileIndex: i}]))
  for (const [name, {cp, file: c}] of sealed) {
    const where = `checkpoint #${cp.index} (${cp.time})`
    let here = present.get(name)
    // A live file sealed whole under its day's name, and since set aside into a part.
    here ??= [...present.values()].find(
      ({report}) =>
        sameFile(c.file, report.file) &&
        !sealed.has(plainName(report.file)) &&
        report.commitment?.other === c.other &&
        report.commitment.bytes === c.bytes,
    )
    if (here) {
      const now = here.report.commitment
      if (
        !now ||
        now.bytes !== c.bytes ||
        now.lines !== c.lines ||
        now.entries !== c.entries ||
        now.lastHash !== c.lastHash ||
        now.other !== c.other
      ) {
        const was = `${count(c.bytes, 'byte')}, ${count(c.lines, 'line')}, ${count(c.entries, 'entry', 'entries')}`
        const is = now
          ? `${count(now.bytes, 'byte')}, ${count(now.lines, 'line')}, ${count(now.entries, 'entry', 'entries')}`
          : 'unreadable'
        state.problem({
          kind: 'checkpoint',
          file: here.report.file,
          fileIndex: here.fileIndex,
          message: `changed since ${where} sealed it whole (${was}; now ${is}${now && now.bytes === c.bytes && now.lines === c.lines && now.entries === c.entries && now.lastHash === c.lastHash ? ': a line that is not a chained entry was changed' : ''})`,
        })
      }
      continue
    }
    const pruned = state.removed.get(name)
    if (pruned) {
      if (pruned.through - pruned.before !== c.entries || pruned.lastHash !== c.lastHash) {
        state.problem({
          kind: 'retention-record',
          file: c.file,
          fileIndex: files.length,
          message: `the audit.retention entry at ${pruned.record} says ${c.file} held ${count(pruned.through - pruned.before, 'entry', 'entries')} ending in ${pruned.lastHash.slice(0, 16)}…; ${where} sealed ${c.entries} ending in ${c.lastHash.slice(0, 16)}…: its counts or hashes are false`,
        })
      }
      continue
    }
    if (prunedEarlier(c.file, state.earlier)) continue
    state.fileReports.push({file: c.file, profile: 'native', lines: 0, entries: 0, problems: 0, valid: false, missing: true})
    state.problem({
      kind: 'file-missing',
      file: c.file,
      fileIndex: state.fileReports.length - 1,
      message: `file missing: ${where} sealed it whole (${count(c.entries, 'entry', 'entries')}), and no audit.retention entry accounts for it`,
    })
  }
}

/** `1 entry`, `2 entries`: a count with its noun. */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`
}

function threadCount(files: Opened[], requested?: number): number {
  if (requested !== undefined) return requested
  const total = files.reduce((sum, f) => sum + (f.gzip ? INLINE_BYTES : f.size), 0)
  return total < INLINE_BYTES ? 0 : Math.max(1, Math.min(availableParallelism(), 4))
}

/** The checkpoint file to use: the one named, else the default when it exists (or a public key was given). */
async function readCheckpointFile(dir: string, options: VerifyOptions): Promise<CheckpointFile | undefined> {
  if (options.checkpoints === null) return undefined
  const path = options.checkpoints ?? join(dir, DEFAULT_CHECKPOINT_NAME)
  try {
    return {path, text: await readRegularFile(path)}
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (options.checkpoints !== undefined) throw new VerifyError(`${path}: ${describeFsError(error)}`)
    // The default file replaced by a directory, FIFO or device: damage in the log directory, reported with the rest.
    if (code === NOT_REGULAR || code === 'EISDIR') return {path, unusable: describeFsError(error)}
    if (code !== 'ENOENT') throw new VerifyError(`${path}: ${describeFsError(error)}`)
    // The default file gone: with a key to check it is a problem, not a usage error.
    return options.pubkey ? {path} : undefined
  }
}

/**
 * Verifies a log directory as one chain across parts, days and gzip files, and the checkpoints
 * sealed over it. Streams: memory stays flat in the size of the logs.
 */
export async function verifyDirectory(dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  await checkLogDirectory(dir)
  // Checkpoints first: any head they name was written before the files are opened.
  const checkpointFile = await readCheckpointFile(dir, options)
  const files = await openSnapshot(dir)
  try {
    return await verifyOpened(dir, files, checkpointFile, options)
  } finally {
    await closeAll(files)
  }
}

/** The checkpoint file as read: its text, or why it cannot be used, or neither when it is missing. */
interface CheckpointFile {
  path: string
  text?: string
  unusable?: string
}

async function verifyOpened(
  dir: string,
  files: Opened[],
  checkpointFile: CheckpointFile | undefined,
  options: VerifyOptions,
): Promise<VerifyReport> {
  const checkpointPath = checkpointFile?.path
  const state = new Verification(
    options.onProblem,
    options.strict === true,
    options.retentionDays ?? 0,
    (options.now ?? new Date()).getTime(),
  )
  if (files.length === 0)
    state.problem({
      kind: 'no-log-files',
      file: dir,
      fileIndex: 0,
      message: `no log files in ${dir} (a wrong directory, or the logs were deleted)`,
    })
  let checkpoints: Checkpoint[] = []
  if (checkpointFile?.unusable) {
    state.problem({
      kind: 'checkpoint-file',
      file: checkpointFile.path,
      fileIndex: files.length,
      message: `${checkpointFile.unusable}; no checkpoint was checked`,
    })
  } else if (checkpointFile?.text === undefined && checkpointPath) {
    state.problem({
      kind: 'checkpoint-file',
      file: checkpointPath,
      fileIndex: files.length,
      message: `checkpoint file missing: a public key was given but ${DEFAULT_CHECKPOINT_NAME} is gone from the log directory; deleting it hides entries cut from the end (name the file with --checkpoints if it is kept elsewhere)`,
    })
  } else if (checkpointFile?.text !== undefined) {
    const read = readCheckpointText(checkpointFile.text)
    checkpoints = read.checkpoints
    if (read.damage) {
      const checked =
        checkpoints.length === 0
          ? 'no checkpoint was checked'
          : `the ${count(checkpoints.length, 'checkpoint')} before it ${checkpoints.length === 1 ? 'was' : 'were'} checked`
      state.problem({
        kind: 'checkpoint-file',
        file: checkpointFile.path,
        fileIndex: files.length,
        line: read.damage.line,
        message: `${read.damage.message}; ${checked}`,
      })
    } else if (options.pubkey && checkpoints.length === 0) {
      // seal never leaves the file empty: emptied, like deleted, it would hide entries cut from the end.
      state.problem({
        kind: 'checkpoint-file',
        file: checkpointFile.path,
        fileIndex: files.length,
        message: 'checkpoint file holds no checkpoint, though a public key was given (an emptied file hides entries cut from the end)',
      })
    }
  }
  for (const p of checkSequence(checkpoints, options.pubkey)) {
    const cp = checkpoints[p.index - 1]
    state.problem({
      kind: 'checkpoint-file',
      file: checkpointPath!,
      fileIndex: files.length,
      line: cp.fileLine,
      message: `checkpoint #${p.index}: ${p.message}`,
    })
  }
  const wanted = [...new Set(checkpoints.map((c) => c.hash))]

  const threads = threadCount(files, options.threads)
  const buffers = new Buffers()
  const pool = threads > 0 ? new Pool(threads, buffers) : undefined
  const inFlight = Math.max(2, threads * 3)
  try {
    for (const [fileIndex, file] of files.entries()) {
      const ctx = {file: file.name, fileIndex, profile: options.profile ?? ('native' as ChainProfile), lineBase: 0, entries: 0}
      const report: FileReport = {file: file.name, profile: ctx.profile, lines: 0, entries: 0, problems: 0, valid: true}
      state.fileReports.push(report)
      const end: FileEnd = {}
      const consumeNext = async (): Promise<void> => {
        const [scan, bytes] = queue.shift()!
        state.consume(ctx, await scan, bytes)
      }
      // Each block's scan, and its bytes in the file.
      const queue: Array<[Promise<ScanResult>, number]> = []
      let first = true
      for await (const block of fileBlocks(file, end, buffers)) {
        if (typeof block === 'number') {
          queue.push([Promise.resolve(tooLong(block)), block + 1])
          continue
        }
        if (first && !options.profile) ctx.profile = report.profile = detectProfile(block)
        first = false
        const request: ScanRequest = {
          buf: block,
          start: HEADROOM,
          end: block.length,
          profile: ctx.profile,
          wanted,
          strict: options.strict === true,
        }
        const bytes = block.length - HEADROOM
        if (pool) queue.push([pool.scan(request), bytes])
        else {
          queue.push([Promise.resolve(scanBlock(request)), bytes])
          buffers.release(block.buffer as ArrayBuffer)
        }
        if (queue.length >= inFlight) await consumeNext()
        options.onProgress?.({entries: state.entries, file: file.name, fileIndex, files: files.length})
      }
      while (queue.length > 0) await consumeNext()
      report.entries = ctx.entries
      state.endFile(ctx, end, fileIndex === files.length - 1)
    }
  } finally {
    await pool?.close()
  }
  const {anchor} = state.settle()

  // Checkpoints: each head must still be where it was sealed, with the same count before it.
  let base: number | undefined = anchor ? undefined : 0
  let lastSealed: number | undefined
  /** The file holding the last checkpoint's head, when that checkpoint is v2 and its head is still there. */
  let lastHeadFile: string | undefined
  let prunedSealed = 0 // the most entries a checkpoint whose head was pruned counted
  const missing = new Map<string, number[]>()
  for (const cp of checkpoints) {
    const where = `checkpoint #${cp.index} (${cp.time})`
    const mark = state.marks.get(cp.hash)
    const at = files.findIndex((f) => f.name === (mark && sameFile(cp.file, mark.file) ? mark.file : cp.file))
    const fileIndex = at < 0 ? files.length : at
    const samePart = files.findIndex((f) => plainName(f.name) === plainName(cp.file))
    const rotated = files.findLastIndex((f) => sameFile(cp.file, f.name))
    if (mark && sameFile(cp.file, mark.file) && mark.line === cp.line) {
      base ??= cp.entries - mark.count
      if (cp.entries - mark.count !== base) {
        state.problem({
          kind: 'entries-missing',
          file: cp.file,
          fileIndex,
          line: cp.line,
          message: `${where} sealed ${count(cp.entries, 'entry', 'entries')} up to here, the log now holds ${mark.count + base}: entries before it were removed or inserted`,
        })
      } else if (cp.bytes !== undefined && mark.bytes !== cp.bytes) {
        state.problem({
          kind: 'checkpoint',
          file: mark.file,
          fileIndex,
          line: cp.line,
          message: `${where} sealed ${count(cp.bytes, 'byte')} of this file up to its head, it now holds ${count(mark.bytes ?? 0, 'byte')} there: lines above the head were inserted, removed or changed`,
        })
      } else if (cp.other !== undefined && mark.other !== cp.other) {
        state.problem({
          kind: 'checkpoint',
          file: mark.file,
          fileIndex,
          line: cp.line,
          message: `${where}: a line above its head in this file that is not a chained entry (a blank line, a fragment, an unchained entry) was inserted, removed or changed`,
        })
      } else {
        lastSealed = Math.max(lastSealed ?? 0, mark.count)
      }
      lastHeadFile = cp.bytes === undefined ? undefined : mark.file
    } else if (mark) {
      state.problem({
        kind: 'checkpoint',
        file: cp.file,
        fileIndex,
        line: cp.line,
        message: `${where}: its head entry is now at ${mark.file}:${mark.line}: entries were moved`,
      })
    } else if (samePart >= 0) {
      // The sealed file, perhaps gzipped since.
      const name = files[samePart].name
      const lines = state.fileLines.get(name) ?? 0
      if (cp.line > lines)
        state.problem({
          kind: 'entries-missing',
          file: name,
          fileIndex: samePart,
          ...(lines > 0 ? {line: lines} : {}),
          message: `entries missing below ${where}: it sealed line ${cp.line}, the file now ${lines > 0 ? `ends at line ${lines}` : 'is empty'}`,
        })
      else
        state.problem({
          kind: 'checkpoint',
          file: name,
          fileIndex: samePart,
          line: cp.line,
          message: `${where}: this line no longer holds the sealed head ${cp.hash.slice(0, 16)}…: the entry was altered or the chain rewritten`,
        })
    } else if (rotated >= 0) {
      // A live file rotated into a part since (most likely the last of its day): its head entry is in none.
      state.problem({
        kind: 'checkpoint',
        file: files[rotated].name,
        fileIndex: rotated,
        message: `${where}: its head entry (${cp.file}:${cp.line}, since rotated into a part) is no longer in the log: the entry was altered, removed or the chain rewritten`,
      })
    } else if (anchor && (state.removed.has(plainName(cp.file)) || prunedEarlier(cp.file, state.earlier))) {
      const pruned = state.removed.get(plainName(cp.file))
      if (pruned && (cp.entries <= pruned.before || cp.entries > pruned.through)) {
        state.problem({
          kind: 'retention-record',
          file: cp.file,
          fileIndex,
          message: `${where} sealed ${count(cp.entries, 'entry', 'entries')} up to its head in ${cp.file}; the audit.retention entry at ${pruned.record} says the file held entries ${pruned.before + 1} to ${pruned.through}: its counts are false`,
        })
      } else {
        state.notes.push(`${where}: its head file ${cp.file} was pruned by retention, not checked`)
      }
      prunedSealed = Math.max(prunedSealed, cp.entries)
    } else {
      missing.set(cp.file, [...(missing.get(cp.file) ?? []), cp.index])
    }
  }
  checkClosedFiles(state, checkpoints, files)
  for (const [name, indexes] of missing) {
    state.fileReports.push({
      file: name,
      profile: options.profile ?? 'native',
      lines: 0,
      entries: 0,
      problems: 0,
      valid: false,
      missing: true,
    })
    state.problem({
      kind: 'file-missing',
      file: name,
      fileIndex: state.fileReports.length - 1,
      message: `file missing: it holds the head of checkpoint${indexes.length > 1 ? 's' : ''} #${indexes.join(', #')}`,
    })
  }

  if (anchor && base !== undefined && base !== anchor.entries) {
    // The checkpoints say how many entries came before the first one still here; the records must account for exactly those.
    state.problem({
      kind: 'retention-record',
      file: anchor.file,
      fileIndex: files.findIndex((f) => f.name === anchor.file),
      line: anchor.line,
      message: `audit.retention entries account for ${count(anchor.entries, 'pruned entry', 'pruned entries')} before the chain start, the checkpoints sealed ${base}: files were deleted that no record names, or a record's counts are false`,
    })
  }
  if (prunedSealed > 0 && lastSealed === undefined && anchor) {
    // Anyone who can append to the log can append a chained entry: only a checkpoint makes the record authoritative.
    state.notes.push(
      `sealed entries were pruned on the word of the audit.retention entry at ${anchor.file}:${anchor.line}, which no checkpoint covers yet; a seal now makes it part of the sealed record`,
    )
  } else if (anchor && (base ?? 0) > 0) {
    state.notes.push(
      `${count(base!, 'sealed entry', 'sealed entries')} before the chain start ${base === 1 ? 'was' : 'were'} pruned on the word of audit.retention entries (the last at ${anchor.file}:${anchor.line}); their content can no longer be checked`,
    )
  }
  // Without a sealed head still in the log, the entries before the chain start are known only in part:
  // the last prune's record counts its own files, and a checkpoint whose head was pruned counts up to there.
  const chainLength = state.entries + (base ?? Math.max(anchor?.entries ?? 0, prunedSealed))
  const sorted = [...state.problems].sort((a, b) => a.fileIndex - b.fileIndex || (a.line ?? 0) - (b.line ?? 0))
  const first = state.first
  const reports = state.fileReports
  return {
    dir,
    valid: state.problemCount === 0,
    files: reports,
    filesValid: reports.filter((r) => r.valid).length,
    filesInvalid: reports.filter((r) => !r.valid).length,
    entries: state.entries,
    unchained: state.unchained,
    firstProblem: first ? {file: first.file, ...(first.line === undefined ? {} : {line: first.line})} : null,
    head: state.head,
    chainLength,
    checkpoints: !checkpointPath
      ? null
      : {
          file: checkpointPath,
          count: checkpoints.length,
          signaturesChecked: options.pubkey !== undefined,
          ...(options.pubkey ? {keyId: keyId(options.pubkey)} : {}),
          ...(lastSealed === undefined ? {} : {lastSealed}),
          ...(lastHeadFile === undefined ? {} : {lastHeadFile}),
        },
    notSealed: state.entries - (lastSealed ?? 0),
    notes: state.notes,
    problems: sorted.map(({fileIndex: _, ...p}) => p),
    problemsOmitted: state.problemCount - state.problems.length,
  }
}

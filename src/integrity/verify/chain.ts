import {Sha256Stream, sha256Hex, sha256Into} from '../../chain/hash.js'
import {GENESIS} from '../../chain/native.js'
import type {Profile} from '../../events/model.js'
import {compareLogFiles, DAY_MS, DAY_SLACK_MS, dayStart, parseLogFileName, plainName} from '../../store/files.js'
import type {FileEnd} from './blocks.js'
import {count, type FileReport, type VerifyProblem, type VerifyReport} from './report.js'
import {nativeBodyNote, OTHER_RECORD, type RunItem, type ScanResult, type SpecialItem} from './scan.js'

/**
 * Chain state: the one pass over a directory's scanned blocks, in chain order, that checks every
 * link across blocks and files and settles retention and recovery records at the end.
 */

const MAX_REPORTED = 1000
const HEX64 = /^[0-9a-f]{64}$/
const MAX_PENDING = 10_000

interface Fragment {
  kind: 'malformed' | 'not-object' | 'utf8' | 'too-long'
  file: string
  fileIndex: number
  line: number
  reason: string
  key?: string
}

export interface Anchor {
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
export interface Earlier {
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

export interface Located extends VerifyProblem {
  fileIndex: number
}

/** One pass over a directory in chain order, with everything that must be seen in order. */
export class Verification {
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
  private link(file: string, fileIndex: number, fileEntries: number, line: number, body: string, hash: string, profile: Profile): boolean {
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
    ctx: {file: string; fileIndex: number; profile: Profile; lineBase: number; entries: number},
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

function iso(ms: number): string {
  return new Date(ms).toISOString()
}

/** What identifies a bad line to the `audit.recovery` record that may account for it. */
function fragmentKey(file: string, line: number, bytes: number, sha256: string): string {
  return `${plainName(file)}\n${line}\n${bytes}\n${sha256}`
}

import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {GENESIS, splitChainedLine} from '../chain/native.js'
import {decodeLine} from './decode.js'
import {compareLogFiles, currentForms, DAY_MS, dayStart, type LogFile, listLogFiles, parseLogFileName, plainName} from './files.js'
import {readListedFile} from './reader.js'
import {unlinkQuiet} from './rotate.js'

/** One removed file as recorded in the `audit.retention` event (the contract shared with verify). */
export interface RemovedFile {
  file: string
  entries: number
  /** Timestamps of the file's first and last entries; null for a file without entries. */
  first: string | null
  last: string | null
  /** The chain head at the end of the file: what the next file chains from. */
  last_hash: string
}

/**
 * What prunes before a record removed, when their own records were pruned since: every file up to
 * `through`, holding `entries` entries. The writer carries it forward from the records it finds in
 * the files it prunes, so verify can tell files pruned earlier from files deleted without a record.
 */
export interface EarlierPrunes {
  through: string
  entries: number
}

/** The details of an audit.retention entry met in a file being pruned. */
interface SeenRecord {
  earlier?: EarlierPrunes
  removed: Array<{file: string; entries: number}>
}

interface Summary extends RemovedFile {
  lastTime: number
}

/**
 * A file old enough to prune that retention keeps, with every file after it, because it cannot be
 * recorded: the operator must hear of it, or data meant to be deleted stays without a word.
 */
export class RetentionHeldError extends Error {}

/**
 * Reads a closed file for its record; a string saying why when it cannot be read whole. A plain
 * part that is gzipped (and unlinked) between the listing and the open is read from its .gz instead.
 */
async function summarize(file: LogFile, headBefore: string, records: SeenRecord[]): Promise<Summary | string> {
  let summary: Summary | undefined
  const seen = records.length
  const read = await readListedFile(file, (form) => {
    const started: Summary = {
      file: form.name,
      entries: 0,
      first: null,
      last: null,
      last_hash: headBefore,
      lastTime: Number.NEGATIVE_INFINITY,
    }
    summary = started
    records.length = seen
    return (text) => {
      const decoded = decodeLine(text)
      if (!decoded.ok) return
      if (decoded.entry.event === 'audit.retention') {
        const record = seenRecord(decoded.entry.details)
        if (record) records.push(record)
      }
      started.entries++
      started.first ??= decoded.entry.timestamp
      started.last = decoded.entry.timestamp
      started.lastTime = Math.max(started.lastTime, decoded.time)
      started.last_hash = splitChainedLine(text)?.hash ?? started.last_hash
    }
  })
  if (!read)
    return currentForms(file).at(-1)?.age
      ? 'it is encrypted and no identity that opens it was given (--identity, AUDIT_IDENTITY or encryption.identity)'
      : 'it cannot be read'
  const counts = read.counts()
  if (counts['truncated-gzip'] || counts['damaged-age']) return 'it is damaged (run audit verify)'
  return summary as Summary
}

/**
 * The files retention would remove, oldest first: the longest run from the start of the chain of
 * whole files strictly older than the cutoff (their day and every entry in them), never the newest
 * file, which holds the chain head. Files are read here, outside the lock: closed files do not change
 * (but may be gzipped meanwhile). `listed` is the directory's listing when the caller has one.
 */
export async function planRetention(
  dir: string,
  retentionDays: number,
  now: number,
  listed?: LogFile[],
  records: SeenRecord[] = [],
  onHeld?: (error: RetentionHeldError) => void,
): Promise<RemovedFile[]> {
  const cutoff = now - retentionDays * DAY_MS
  const files = listed ?? (await listLogFiles(dir))
  const planned: RemovedFile[] = []
  let head = GENESIS
  for (const file of files.slice(0, -1)) {
    if (dayStart(file.day) + DAY_MS > cutoff) break
    const read = await summarize(file, head, records)
    // A file that cannot be read whole is not recorded, so neither it nor anything after it is removed.
    if (typeof read === 'string') {
      onHeld?.(new RetentionHeldError(`retention: ${file.name} and every later file kept: ${read}`))
      break
    }
    if (read.lastTime >= cutoff) break
    const {lastTime: _, ...summary} = read
    planned.push(summary)
    head = summary.last_hash
  }
  return planned
}

function seenRecord(details: Record<string, unknown>): SeenRecord | undefined {
  const removed = Array.isArray(details.removed)
    ? details.removed.filter((r): r is {file: string; entries: number} => typeof r?.file === 'string' && Number.isSafeInteger(r?.entries))
    : []
  const e = details.earlier as Partial<EarlierPrunes> | undefined
  const earlier =
    e && typeof e.through === 'string' && Number.isSafeInteger(e.entries) ? {through: e.through, entries: e.entries!} : undefined
  return removed.length > 0 || earlier ? {removed, ...(earlier ? {earlier} : {})} : undefined
}

/**
 * Plans retention as planRetention does, and says what earlier prunes removed before the first
 * planned file: from the last audit.retention entry among the planned files (zero when there is none:
 * either nothing was pruned before, or its record is still in the log for verify to read).
 */
export async function planRetentionWithHistory(
  dir: string,
  retentionDays: number,
  now: number,
  onHeld?: (error: RetentionHeldError) => void,
): Promise<{planned: RemovedFile[]; earlier: EarlierPrunes | {through: null; entries: 0}}> {
  const records: SeenRecord[] = []
  const planned = await planRetention(dir, retentionDays, now, undefined, records, onHeld)
  const last = records.at(-1)
  const first = planned[0] && parseLogFileName(planned[0].file)
  if (!last || !first) return {planned, earlier: {through: null, entries: 0}}
  // A prune cut short between its unlinks left files its record names: those are planned again now.
  const before = (name: string): boolean => {
    const parsed = parseLogFileName(name)
    return parsed !== undefined && compareLogFiles({...parsed, gzip: false}, {...first, gzip: false}) < 0
  }
  let earlier: EarlierPrunes | {through: null; entries: 0} =
    last.earlier && before(last.earlier.through) ? last.earlier : {through: null, entries: 0}
  for (const r of last.removed) if (before(r.file)) earlier = {through: r.file, entries: earlier.entries + r.entries}
  return {planned, earlier}
}

/** Every name a part has on its way from plain to encrypted (files.ts currentForms). */
function variants(name: string): string[] {
  const plain = plainName(name)
  return [plain, `${plain}.gz`, `${plain}.gz.age`, `${plain}.age`]
}

/**
 * Under the lock, just before the event is written: the planned files still present, under their
 * current name (a plain file may have been gzipped or encrypted meanwhile, or removed by another writer's prune).
 */
export function stillPresent(dir: string, planned: RemovedFile[]): RemovedFile[] {
  const out: RemovedFile[] = []
  for (const removed of planned) {
    const name = variants(removed.file).find((n) => existsSync(join(dir, n)))
    if (name) out.push({...removed, file: name})
  }
  return out
}

/** Removes the recorded files (every form, in case a compression or encryption is in progress). */
export function removeFiles(dir: string, removed: RemovedFile[]): void {
  for (const {file} of removed) for (const name of variants(file)) unlinkQuiet(join(dir, name))
}

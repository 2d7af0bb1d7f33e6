import type {KeyObject} from 'node:crypto'
import {availableParallelism} from 'node:os'

import type {Profile} from '../../events/model.js'
import {checkLogDirectory} from '../../store/files.js'
import {WorkerPool} from '../../threads.js'
import {keyId} from '../checkpoint.js'
import {type FileEnd, Buffers, fileBlocks} from './blocks.js'
import {Verification} from './chain.js'
import {type CheckpointFile, loadCheckpoints, readCheckpointFile, reconcileCheckpoints} from './reconcile.js'
import type {FileReport, VerifyProblem, VerifyReport} from './report.js'
import {detectProfile, HEADROOM, type ScanRequest, type ScanResult, scanBlock, tooLongResult} from './scan.js'
import {closeAll, type Opened, openSnapshot} from './snapshot.js'

export interface VerifyOptions {
  /** Read every file as this profile instead of recognising each by its content. */
  profile?: Profile
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
  /** A caller that reads the blocks too, in the same pass (analyze): nothing is read twice. */
  blocks?: BlockReader
}

/**
 * Reads every block verify reads, in the scan's thread: its worker module answers each ScanRequest
 * with scanBlock's result plus its own `extra` (read before scanBlock, which hashes in place).
 */
export interface BlockReader {
  /** The worker module, and the same scan in this thread (for small logs). */
  worker: {name: string; from: string}
  scan: (request: ScanRequest) => ScanResult
  /** The request's `extra` for a file's blocks; undefined: scanBlock alone. */
  extra: (file: Opened) => unknown
  /** Each block's result (and an over-long line's), in file order; `lineBase` is the lines of the file before it. */
  block: (file: Opened, lineBase: number, result: ScanResult) => void
  /** After a file's last block: its line count and its end (what follows the last LF, a read error). */
  fileEnd: (file: Opened, lines: number, end: FileEnd) => void
}

/** Below this many bytes of logs, starting worker threads costs more than it saves. */
const INLINE_BYTES = 4 * 1024 * 1024

/**
 * Workers that hash the blocks; this thread reads, hands out and folds in. Measured on 2 cores
 * (1M entries, 300 MB): this thread also hashing a third or a fifth of the blocks beside two
 * workers was 15% or 6% slower; one worker with this thread hashing half, no faster.
 */
function threadCount(files: Opened[], requested?: number): number {
  if (requested !== undefined) return requested
  const total = files.reduce((sum, f) => sum + (f.gzip ? INLINE_BYTES : f.size), 0)
  return total < INLINE_BYTES ? 0 : Math.max(1, Math.min(availableParallelism(), 4))
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
  const checkpoints = loadCheckpoints(state, checkpointFile, files, options)
  const wanted = [...new Set(checkpoints.map((c) => c.hash))]

  const threads = threadCount(files, options.threads)
  const buffers = new Buffers()
  // Workers hash the blocks in place (shared memory); a block's buffer is filled again once its scan is back.
  const {blocks} = options
  const scan = blocks?.scan ?? scanBlock
  const pool =
    threads > 0
      ? new WorkerPool<ScanRequest, ScanResult>(threads, {
          ...(blocks?.worker ?? {name: 'worker', from: import.meta.url}),
          resourceLimits: {maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 16},
        })
      : undefined
  const scanRemote = async (request: ScanRequest): Promise<ScanResult> => {
    const result = await pool!.run(request)
    buffers.release(request.buf.buffer as SharedArrayBuffer)
    return result
  }
  const inFlight = Math.max(2, threads * 3)
  try {
    for (const [fileIndex, file] of files.entries()) {
      const ctx = {file: file.name, fileIndex, profile: options.profile ?? ('native' as Profile), lineBase: 0, entries: 0}
      const report: FileReport = {file: file.name, profile: ctx.profile, lines: 0, entries: 0, problems: 0, valid: true}
      state.fileReports.push(report)
      const end: FileEnd = {}
      const extra = blocks?.extra(file)
      const consumeNext = async (): Promise<void> => {
        const [scanned, bytes] = queue.shift()!
        const result = await scanned
        const lineBase = ctx.lineBase
        state.consume(ctx, result, bytes)
        blocks?.block(file, lineBase, result)
      }
      // Each block's scan, and its bytes in the file.
      const queue: Array<[Promise<ScanResult>, number]> = []
      let first = true
      for await (const block of fileBlocks(file, end, buffers)) {
        if (typeof block === 'number') {
          queue.push([Promise.resolve(tooLongResult(block)), block + 1])
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
          ...(extra === undefined ? {} : {extra}),
        }
        const bytes = block.length - HEADROOM
        if (pool) queue.push([scanRemote(request), bytes])
        else {
          queue.push([Promise.resolve(scan(request)), bytes])
          buffers.release(block.buffer as SharedArrayBuffer)
        }
        if (queue.length >= inFlight) await consumeNext()
        options.onProgress?.({entries: state.entries, file: file.name, fileIndex, files: files.length})
      }
      while (queue.length > 0) await consumeNext()
      report.entries = ctx.entries
      blocks?.fileEnd(file, ctx.lineBase, end)
      state.endFile(ctx, end, fileIndex === files.length - 1)
    }
  } finally {
    // Not awaited: every block is answered, and the workers' teardown (measured 100-500 ms at load 12)
    // then overlaps the settling below and the caller's report instead of coming before them.
    void pool?.close()
  }
  const {anchor} = state.settle()

  const {base, lastSealed, lastHeadFile, prunedSealed} = reconcileCheckpoints(state, checkpoints, files, anchor, options)

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

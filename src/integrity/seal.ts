import {createPublicKey, type KeyObject} from 'node:crypto'
import {appendFile} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

import {checkLogDirectory, describeFsError, listLogFiles, parseLogFileName, readRegularFile} from '../store/files.js'
import {DirectoryLock} from '../store/lock.js'
import {
  checkpointDigest,
  CheckpointError,
  DEFAULT_CHECKPOINT_NAME,
  NO_PREVIOUS,
  parseCheckpoints,
  signCheckpoint,
  type CheckpointBody,
} from './checkpoint.js'
import {type VerifyOptions, type VerifyReport, verifyDirectory} from './verify/index.js'

export class SealError extends Error {}

export interface SealResult {
  /** The verification run before sealing; nothing is sealed unless it is valid. */
  report: VerifyReport
  path: string
  /** The checkpoint appended, when the log was valid. */
  checkpoint?: CheckpointBody & {index: number}
  /** Why the seal ran without its lock, when it did. */
  warning?: string
}

/** A seal waits this long for another seal of the same checkpoint file (which verifies the whole log first). */
const SEAL_LOCK_TIMEOUT_MS = 30 * 60_000

/**
 * Verifies the directory (with the checkpoints so far, signatures checked with the key's public
 * half) and, only if it holds, appends a signed checkpoint of the chain head to the checkpoint file.
 * The whole run holds the checkpoint file's lock, so overlapping seals (cron) take turns: each
 * names the checkpoint before it, and none seals a head older than one already sealed.
 */
export async function sealDirectory(
  dir: string,
  privateKey: KeyObject,
  options: {checkpoints?: string; now?: Date} & Pick<VerifyOptions, 'onProblem' | 'onProgress' | 'retentionDays'> = {},
): Promise<SealResult> {
  await checkLogDirectory(dir)
  const path = options.checkpoints ?? join(dir, DEFAULT_CHECKPOINT_NAME)
  // Appended to a log file, checkpoints would be read as damaged entries.
  if (parseLogFileName(basename(path))) throw new CheckpointError(`${path}: named like a log file; checkpoints go in a file of their own`)
  // Its own lock, `<checkpoint file>.lock`, not the log directory's: a seal verifies the whole log
  // while holding it, and writers must not wait for that.
  const lock = new DirectoryLock(dirname(path), {name: `${basename(path)}.lock`, timeoutMs: SEAL_LOCK_TIMEOUT_MS})
  let warning: string | undefined
  try {
    await lock.acquire()
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === undefined) throw error
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new CheckpointError(`${dirname(path)}: no such directory (for the checkpoint file)`)
    if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw new CheckpointError(`${lock.path}: ${describeFsError(error)}`)
    // A checkpoint file kept where this user may only append to it (as the docs advise) leaves no
    // room for a lock beside it: seal anyway, and say that overlapping seals are not kept apart.
    warning = `${lock.path}: ${describeFsError(error)}; sealing without the lock (overlapping seals may conflict)`
  }
  try {
    const result = await sealLocked(dir, path, privateKey, options)
    return warning ? {...result, warning} : result
  } finally {
    lock.release()
  }
}

async function sealLocked(
  dir: string,
  path: string,
  privateKey: KeyObject,
  options: {now?: Date} & Pick<VerifyOptions, 'onProblem' | 'onProgress' | 'retentionDays'>,
): Promise<SealResult> {
  if ((await listLogFiles(dir)).length === 0) throw new SealError(`nothing to seal: no log files in ${dir}`)
  let text: string | undefined
  try {
    text = await readRegularFile(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new CheckpointError(`${path}: ${describeFsError(error)}`)
  }
  // An empty file (made ahead, e.g. with its owner and mode set) starts the sequence like a missing one.
  const started = text !== undefined && text.trim() !== ''
  const report = await verifyDirectory(dir, {
    checkpoints: started ? path : null,
    ...(started ? {pubkey: createPublicKey(privateKey)} : {}),
    onProblem: options.onProblem,
    onProgress: options.onProgress,
    retentionDays: options.retentionDays,
  })
  if (!report.valid) return {report, path}
  if (!report.head) throw new SealError(`nothing to seal: ${dir} holds no chained entries`)
  // Under the lock, the file still holds what verify checked: no other seal appended meanwhile.
  text ??= ''
  const previous = parseCheckpoints(text, path).at(-1)
  const now = options.now ?? new Date()
  // A checkpoint older than the one before it would make the sequence go backwards for good.
  if (previous && now.getTime() < Date.parse(previous.time))
    throw new SealError(
      `not sealed: the clock (${now.toISOString()}) is behind the last checkpoint's time (${previous.time}); seal again once it has caught up`,
    )
  const {head} = report
  if (head.bytes === undefined || head.other === undefined) throw new Error('verify gave no commitment for the chain head')
  // Files completed since the last checkpoint's head (all before the head file when none was v2): each whole.
  const present = report.files.filter((f) => !f.missing)
  const last = report.checkpoints?.lastHeadFile
  const from =
    last === undefined
      ? 0
      : Math.max(
          0,
          present.findIndex((f) => f.file === last),
        )
  const to = present.findIndex((f) => f.file === head.file)
  const body: CheckpointBody = {
    entries: report.chainLength,
    hash: head.hash,
    file: head.file,
    line: head.line,
    time: now.toISOString(),
    prev: previous ? checkpointDigest(previous.text) : NO_PREVIOUS,
    bytes: head.bytes,
    other: head.other,
    closed: present.slice(from, to).map((f) => f.commitment!),
  }
  // One write with O_APPEND; a blank line separates checkpoints.
  try {
    await appendFile(path, `${text.length > 0 ? '\n' : ''}${signCheckpoint(body, privateKey)}`, {mode: 0o600})
  } catch (error) {
    throw new CheckpointError(`${path}: ${describeFsError(error)}`)
  }
  return {report, path, checkpoint: {...body, index: (previous?.index ?? 0) + 1}}
}

import {createPublicKey, type KeyObject} from 'node:crypto'
import {access, appendFile, readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {checkpointDigest, DEFAULT_CHECKPOINT_NAME, NO_PREVIOUS, parseCheckpoints, signCheckpoint, type CheckpointBody} from './checkpoint.js'
import {type VerifyOptions, type VerifyReport, verifyDirectory} from './verify.js'

export class SealError extends Error {}

export interface SealResult {
  /** The verification run before sealing; nothing is sealed unless it is valid. */
  report: VerifyReport
  path: string
  /** The checkpoint appended, when the log was valid. */
  checkpoint?: CheckpointBody & {index: number}
}

/**
 * Verifies the directory (with the checkpoints so far, signatures checked with the key's public
 * half) and, only if it holds, appends a signed checkpoint of the chain head to the checkpoint file.
 */
export async function sealDirectory(dir: string, privateKey: KeyObject, options: {checkpoints?: string; now?: Date} & Pick<VerifyOptions, 'onProblem' | 'onProgress'> = {}): Promise<SealResult> {
  const path = options.checkpoints ?? join(dir, DEFAULT_CHECKPOINT_NAME)
  const exists = await access(path).then(() => true, () => false)
  const report = await verifyDirectory(dir, {
    checkpoints: exists ? path : null,
    ...(exists ? {pubkey: createPublicKey(privateKey)} : {}),
    onProblem: options.onProblem,
    onProgress: options.onProgress,
  })
  if (!report.valid) return {report, path}
  if (!report.head) throw new SealError(`nothing to seal: ${dir} holds no chained entries`)
  const text = exists ? await readFile(path, 'utf8') : ''
  const previous = parseCheckpoints(text, path).at(-1)
  const body: CheckpointBody = {
    entries: report.chainLength,
    hash: report.head.hash,
    file: report.head.file,
    line: report.head.line,
    time: (options.now ?? new Date()).toISOString(),
    prev: previous ? checkpointDigest(previous.text) : NO_PREVIOUS,
  }
  // One write with O_APPEND; a blank line separates checkpoints.
  await appendFile(path, `${text.length > 0 ? '\n' : ''}${signCheckpoint(body, privateKey)}`, {mode: 0o600})
  return {report, path, checkpoint: {...body, index: (previous?.index ?? 0) + 1}}
}

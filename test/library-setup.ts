/**
 * Test setup through the library, in the test's own process: logs written, pruned and sealed the
 * way the binary does it, for tests whose subject is another command (a spawn costs about half a
 * second of CPU; a test that set up with a dozen of them spent most of its time starting node).
 */
import {join} from 'node:path'

import {AuditWriter, type RemovedFile} from '../src/index.js'
import {generateKeyPair, loadPrivateKey} from '../src/integrity/checkpoint.js'
import {type SealResult, sealDirectory} from '../src/integrity/seal.js'
import {tempDir} from './helpers.js'

const DAY_MS = 86_400_000

/** A writer whose clock runs `days` days from now, as AUDIT_TEST_NOW_OFFSET_MS sets it for `audit log`. */
function writerAt(dir: string, days: number, retentionDays?: number): Promise<AuditWriter> {
  const offset = days * DAY_MS
  return AuditWriter.open(dir, {
    now: () => Date.now() + offset,
    ...(retentionDays === undefined ? {} : {retention_days: retentionDays}),
  })
}

/** As `audit log EVENT --dir DIR [--retention-days N]` run `days` days from now: one entry, by its own writer. */
export async function logAt(dir: string, days: number, event: string, retentionDays?: number): Promise<void> {
  const writer = await writerAt(dir, days, retentionDays)
  try {
    if (!(await writer.write({event}))) throw new Error(`${event} was not written`)
  } finally {
    await writer.close()
  }
}

/** As `audit log --prune --retention-days N --dir DIR` run `days` days from now: the files removed. */
export async function pruneAt(dir: string, days: number, retentionDays: number): Promise<RemovedFile[]> {
  const writer = await writerAt(dir, days, retentionDays)
  try {
    return await writer.prune()
  } finally {
    await writer.close()
  }
}

/** A new Ed25519 key pair in a directory of its own, as `audit keygen --out` writes it. */
export async function makeKeys(): Promise<{key: string; pub: string}> {
  const {privatePath, publicPath} = await generateKeyPair(join(tempDir('seal-keys-'), 'k'))
  return {key: privatePath, pub: publicPath}
}

/** As `audit seal --dir DIR --key KEY [--checkpoints FILE]`: throws unless a checkpoint was appended. */
export async function seal(dir: string, key: string, checkpoints?: string): Promise<SealResult> {
  const result = await sealDirectory(dir, await loadPrivateKey(key), {checkpoints})
  if (!result.checkpoint) throw new Error(`not sealed: ${JSON.stringify(result.report.problems)}`)
  return result
}

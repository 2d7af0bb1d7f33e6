import * as crypto from 'node:crypto'
import {type FileHandle, open} from 'node:fs/promises'
import {join} from 'node:path'

import {describeFsError, makeDirectory, readRegularFile} from '../store/files.js'
import {sha256Hex} from '../chain/hash.js'

/**
 * Signed checkpoints of the chain head, modelled on C2SP signed notes and tlog checkpoints:
 * a text body (origin line, entry count, head hash, then `key value` extension lines), a blank
 * line, and `— <key name> <base64(4-byte key id || Ed25519 signature)>` over the body.
 * Checkpoints are appended to one file, separated by a blank line; each names the sha256 of
 * the whole previous checkpoint, so removing or reordering one breaks the sequence.
 *
 * Version 2 also commits to every byte up to the head. The chain pins the bytes of every chained
 * native line (its hash covers them); what it does not pin is where files begin and end and the
 * lines that are not chained entries (blank lines, fragments, unchained entries, anything else).
 * So a v2 checkpoint gives, for the head file up to the head line and for every file completed
 * since the previous checkpoint's head, its byte length and the digest of those other lines
 * (FileCommitment). Together with the chain, nothing below a head can be inserted, removed or
 * changed, whatever the line looks like, without a commitment failing.
 */

export const CHECKPOINT_ORIGIN_V1 = 'auditkit checkpoint v1'
export const CHECKPOINT_ORIGIN = 'auditkit checkpoint v2'
/** Where `seal` and `verify` look when no checkpoint file is named. */
export const DEFAULT_CHECKPOINT_NAME = 'audit.checkpoints'
export const KEY_NAME = 'auditkit'
export const NO_PREVIOUS = '0'.repeat(64)
export const PRIVATE_KEY_FILE = 'audit-seal.key'
export const PUBLIC_KEY_FILE = 'audit-seal.pub'

const EM_DASH = '\u2014'
const HEX64 = /^[0-9a-f]{64}$/

export class CheckpointError extends Error {}

/**
 * What a v2 checkpoint pins of one file: its bytes (uncompressed), lines, chained entries, the chain
 * hash at its end, and `other`, the sha256 over, for each line that is not a chained entry in order,
 * its line number (float64, little-endian) followed by the raw sha256 of its bytes.
 */
export interface FileCommitment {
  file: string
  bytes: number
  lines: number
  entries: number
  lastHash: string
  other: string
}

export interface CheckpointBody {
  /** Chained entries from the start of the chain up to and including the head. */
  entries: number
  /** Stored hash of the head entry. */
  hash: string
  /** File name (no directory) and 1-based line of the head entry. */
  file: string
  line: number
  /** RFC 3339 time of sealing. */
  time: string
  /** sha256 of the previous checkpoint's full text, or 64 zeros for the first. */
  prev: string
  /** v2: the head file up to the end of the head line: its bytes and the digest of its other lines. */
  bytes?: number
  other?: string
  /** v2: the files completed since the previous checkpoint's head, whole, in chain order. */
  closed?: FileCommitment[]
}

export interface Checkpoint extends CheckpointBody {
  /** 1-based position in the checkpoint file, and the line it starts on. */
  index: number
  fileLine: number
  /** The signed body text (ending in LF) and the whole checkpoint text (ending in LF). */
  body: string
  text: string
  /** Key name and hex key id from the signature line, and the raw signature. */
  keyName: string
  keyId: string
  signature: Buffer
}

/** Raw 32-byte Ed25519 public key. */
function rawPublicKey(key: crypto.KeyObject): Buffer {
  const spki = key.export({format: 'der', type: 'spki'})
  return spki.subarray(spki.length - 32)
}

/** The signed-note key id: first 4 bytes of sha256(name || LF || 0x01 (Ed25519) || key). */
export function keyIdBytes(publicKey: crypto.KeyObject, name = KEY_NAME): Buffer {
  const hash = crypto
    .createHash('sha256')
    .update(`${name}\n`)
    .update(Buffer.from([1]))
    .update(rawPublicKey(publicKey))
    .digest()
  return hash.subarray(0, 4)
}

export function keyId(publicKey: crypto.KeyObject): string {
  return keyIdBytes(publicKey).toString('hex')
}

/** Reads a file the user named; a failure is a CheckpointError saying `<path>: <why>`. */
async function readNamed(path: string): Promise<string> {
  try {
    return await readRegularFile(path)
  } catch (error) {
    throw new CheckpointError(`${path}: ${describeFsError(error)}`)
  }
}

/** Reads an Ed25519 key in PEM from a file the user named; one-line errors. */
async function loadKey(path: string, kind: 'private' | 'public'): Promise<crypto.KeyObject> {
  const pem = await readNamed(path)
  let key: crypto.KeyObject
  try {
    key = kind === 'private' ? crypto.createPrivateKey(pem) : crypto.createPublicKey(pem)
  } catch {
    throw new CheckpointError(`${path}: not a PEM ${kind} key`)
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new CheckpointError(`${path}: not an Ed25519 key (${key.asymmetricKeyType})`)
  return key
}

export const loadPrivateKey = (path: string): Promise<crypto.KeyObject> => loadKey(path, 'private')
export const loadPublicKey = (path: string): Promise<crypto.KeyObject> => loadKey(path, 'public')

/** Writes a new Ed25519 key pair into `dir` (0700); refuses to overwrite either file. */
export async function generateKeyPair(dir: string): Promise<{privatePath: string; publicPath: string; keyId: string}> {
  try {
    makeDirectory(dir)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    // mkdir -p on an existing file says EEXIST; on a path through a file, ENOTDIR.
    throw new CheckpointError(`${dir}: ${code === 'EEXIST' || code === 'ENOTDIR' ? 'not a directory' : describeFsError(error)}`)
  }
  const {privateKey, publicKey} = crypto.generateKeyPairSync('ed25519')
  const privatePath = join(dir, PRIVATE_KEY_FILE)
  const publicPath = join(dir, PUBLIC_KEY_FILE)
  for (const path of [privatePath, publicPath]) {
    const exists = await open(path, 'r').then(
      async (h) => {
        await h.close()
        return true
      },
      () => false,
    )
    if (exists) throw new CheckpointError(`${path} exists; refusing to overwrite a key`)
  }
  // 'wx' fails if the file appeared meanwhile, so a key is never overwritten. The public half is
  // meant to be handed out: 0644, as ssh-keygen writes a .pub.
  for (const [path, pem, mode] of [
    [privatePath, privateKey.export({format: 'pem', type: 'pkcs8'}), 0o600],
    [publicPath, publicKey.export({format: 'pem', type: 'spki'}), 0o644],
  ] as const) {
    let handle: FileHandle
    try {
      handle = await open(path, 'wx', mode)
    } catch (error) {
      throw new CheckpointError(
        `${path}: ${(error as NodeJS.ErrnoException).code === 'EEXIST' ? 'exists; refusing to overwrite a key' : describeFsError(error)}`,
      )
    }
    try {
      await handle.writeFile(pem)
    } finally {
      await handle.close()
    }
  }
  return {privatePath, publicPath, keyId: keyId(publicKey)}
}

export function formatBody(body: CheckpointBody): string {
  const v1 = [String(body.entries), body.hash, `file ${body.file}`, `line ${body.line}`, `time ${body.time}`, `prev ${body.prev}`]
  if (body.bytes === undefined || body.other === undefined) return [CHECKPOINT_ORIGIN_V1, ...v1, ''].join('\n')
  const closed = (body.closed ?? []).map((f) => `closed ${f.file} ${f.bytes} ${f.lines} ${f.entries} ${f.lastHash} ${f.other}`)
  return [CHECKPOINT_ORIGIN, ...v1, `bytes ${body.bytes}`, `other ${body.other}`, ...closed, ''].join('\n')
}

/** The full text of a signed checkpoint, ending in LF. */
export function signCheckpoint(body: CheckpointBody, privateKey: crypto.KeyObject): string {
  const text = formatBody(body)
  const signature = crypto.sign(null, Buffer.from(text), privateKey)
  const publicKey = crypto.createPublicKey(privateKey)
  const blob = Buffer.concat([keyIdBytes(publicKey), signature]).toString('base64')
  return `${text}\n${EM_DASH} ${KEY_NAME} ${blob}\n`
}

/** sha256 of a checkpoint's full text: what the next checkpoint names as `prev`. */
export function checkpointDigest(text: string): string {
  return sha256Hex(text)
}

function parseBody(lines: string[]): CheckpointBody {
  const fail = (what: string): never => {
    throw new CheckpointError(what)
  }
  const v2 = lines[0] === CHECKPOINT_ORIGIN
  if (!v2 && lines[0] !== CHECKPOINT_ORIGIN_V1) fail(`first line is not "${CHECKPOINT_ORIGIN}" (or "${CHECKPOINT_ORIGIN_V1}")`)
  if (!/^\d+$/.test(lines[1] ?? '')) fail('second line is not an entry count')
  if (!HEX64.test(lines[2] ?? '')) fail('third line is not a 64-hex head hash')
  const ext = new Map<string, string>()
  const closed: FileCommitment[] = []
  for (const line of lines.slice(3)) {
    const space = line.indexOf(' ')
    if (space <= 0) fail(`bad line "${line}"`)
    const key = line.slice(0, space)
    if (v2 && key === 'closed') {
      closed.push(parseClosed(line.slice(space + 1)) ?? fail(`bad closed line "${line}"`))
      continue
    }
    if (ext.has(key)) fail(`two ${key} lines`)
    ext.set(key, line.slice(space + 1))
  }
  const file = ext.get('file') ?? fail('no file line')
  const line = Number(ext.get('line') ?? fail('no line line'))
  const time = ext.get('time') ?? fail('no time line')
  const prev = ext.get('prev') ?? fail('no prev line')
  if (!/^audit-[\w.-]+$/.test(file)) fail(`bad file name "${file}"`)
  if (!Number.isSafeInteger(line) || line < 1) fail('bad line number')
  if (Number.isNaN(Date.parse(time))) fail('bad time')
  if (!HEX64.test(prev)) fail('bad prev hash')
  const body: CheckpointBody = {entries: Number(lines[1]), hash: lines[2], file, line, time, prev}
  if (!v2) return body
  const bytes = Number(ext.get('bytes') ?? fail('no bytes line'))
  const other = ext.get('other') ?? fail('no other line')
  if (!Number.isSafeInteger(bytes) || bytes < 1) fail('bad byte count')
  if (!HEX64.test(other)) fail('bad other digest')
  return {...body, bytes, other, closed}
}

function parseClosed(text: string): FileCommitment | undefined {
  const [file, bytes, lines, entries, lastHash, other, extra] = text.split(' ')
  const counts = [bytes, lines, entries].map((n) => (/^\d+$/.test(n ?? '') ? Number(n) : Number.NaN))
  if (
    extra !== undefined ||
    !/^audit-[\w.-]+$/.test(file ?? '') ||
    counts.some((n) => !Number.isSafeInteger(n)) ||
    !HEX64.test(lastHash ?? '') ||
    !HEX64.test(other ?? '')
  )
    return undefined
  return {file, bytes: counts[0], lines: counts[1], entries: counts[2], lastHash, other}
}

/**
 * Parses a checkpoint file's text up to its first malformed checkpoint: the checkpoints before it
 * (still worth checking: a file cut mid-checkpoint keeps the ones that locate a cut log), and the
 * damage, naming its line.
 */
export function readCheckpointText(text: string): {checkpoints: Checkpoint[]; damage?: {line: number; message: string}} {
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  const checkpoints: Checkpoint[] = []
  let i = 0
  let start = 0
  try {
    while (i < lines.length) {
      if (lines[i] === '') {
        i++
        continue
      }
      start = i
      const body: string[] = []
      while (i < lines.length && lines[i] !== '') body.push(lines[i++])
      if (i >= lines.length) throw new CheckpointError('checkpoint without a signature')
      i++ // the blank line between body and signatures
      const sigs: string[] = []
      while (i < lines.length && lines[i].startsWith(`${EM_DASH} `)) sigs.push(lines[i++])
      if (sigs.length !== 1) throw new CheckpointError(`expected one signature line, found ${sigs.length}`)
      const [, name, blob] = sigs[0].split(' ')
      const raw = Buffer.from(blob ?? '', 'base64')
      if (!name || raw.length !== 68) throw new CheckpointError('malformed signature line')
      const parsed = parseBody(body)
      const bodyText = `${body.join('\n')}\n`
      checkpoints.push({
        ...parsed,
        index: checkpoints.length + 1,
        fileLine: start + 1,
        body: bodyText,
        text: `${bodyText}\n${sigs[0]}\n`,
        keyName: name,
        keyId: raw.subarray(0, 4).toString('hex'),
        signature: raw.subarray(4),
      })
    }
  } catch (error) {
    if (!(error instanceof CheckpointError)) throw error
    return {checkpoints, damage: {line: start + 1, message: error.message}}
  }
  return {checkpoints}
}

/** Parses a checkpoint file's text; a malformed checkpoint throws CheckpointError naming its line. */
export function parseCheckpoints(text: string, source: string): Checkpoint[] {
  const {checkpoints, damage} = readCheckpointText(text)
  if (damage) throw new CheckpointError(`${source}:${damage.line}: ${damage.message}`)
  return checkpoints
}

/** Problems with the checkpoint sequence itself: signatures, continuity, monotonicity. */
export function checkSequence(checkpoints: Checkpoint[], publicKey?: crypto.KeyObject): {index: number; message: string}[] {
  const problems: {index: number; message: string}[] = []
  const id = publicKey ? keyId(publicKey) : undefined
  let previous: Checkpoint | undefined
  for (const cp of checkpoints) {
    if (publicKey) {
      if (cp.keyId !== id || cp.keyName !== KEY_NAME)
        problems.push({index: cp.index, message: `signed by another key (${cp.keyName} ${cp.keyId}, expected ${KEY_NAME} ${id})`})
      else if (!crypto.verify(null, Buffer.from(cp.body), publicKey, cp.signature))
        problems.push({index: cp.index, message: 'bad signature: the checkpoint was altered or forged'})
    }
    const expected = previous ? checkpointDigest(previous.text) : NO_PREVIOUS
    if (cp.prev !== expected) {
      problems.push({
        index: cp.index,
        message: previous
          ? `does not follow checkpoint #${previous.index} (a checkpoint was removed, inserted or reordered)`
          : 'names a predecessor, but it is the first in the file (earlier checkpoints were removed)',
      })
    } else if (previous && (cp.entries < previous.entries || Date.parse(cp.time) < Date.parse(previous.time))) {
      problems.push({index: cp.index, message: `goes backwards from checkpoint #${previous.index}`})
    }
    previous = cp
  }
  return problems
}

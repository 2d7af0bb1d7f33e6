import type {KeyObject} from 'node:crypto'
import {join} from 'node:path'

import {compareLogFiles, describeFsError, NOT_REGULAR, parseLogFileName, plainName, readRegularFile} from '../../store/files.js'
import {type Checkpoint, checkSequence, DEFAULT_CHECKPOINT_NAME, type FileCommitment, readCheckpointText} from '../checkpoint.js'
import type {Anchor, Earlier, Verification} from './chain.js'
import {count, VerifyError} from './report.js'
import type {Profile} from '../../events/model.js'
import type {Opened} from './snapshot.js'

/** Checkpoint reconciliation: the checkpoint file read, and what it sealed held against what was read. */

/** The checkpoint file as read: its text, or why it cannot be used, or neither when it is missing. */
export interface CheckpointFile {
  path: string
  text?: string
  unusable?: string
}

/** The checkpoint file to use: the one named, else the default when it exists (or a public key was given). */
export async function readCheckpointFile(
  dir: string,
  options: {checkpoints?: string | null; pubkey?: KeyObject},
): Promise<CheckpointFile | undefined> {
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

/** The checkpoints in the file, each problem of the file itself (damage, sequence, signatures, absence) reported. */
export function loadCheckpoints(
  state: Verification,
  checkpointFile: CheckpointFile | undefined,
  files: Opened[],
  options: {pubkey?: KeyObject},
): Checkpoint[] {
  const checkpointPath = checkpointFile?.path
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
  return checkpoints
}

/** What the checkpoints say about the log as read: see reconcileCheckpoints. */
export interface Reconciled {
  /** Entries before the first one still here, as the checkpoints count them (undefined: no sealed head is left to say). */
  base: number | undefined
  /** Entries up to the last sealed head that holds. */
  lastSealed: number | undefined
  /** The file holding the last checkpoint's head, when that checkpoint is v2 and its head is still there. */
  lastHeadFile: string | undefined
  /** The most entries a checkpoint whose head was pruned counted. */
  prunedSealed: number
}

/**
 * Holds each checkpoint against the log as read, reporting what does not match: each head must
 * still be where it was sealed, with the same count before it; each file sealed whole must be as
 * sealed or pruned on a record's word; pruned counts must agree with the checkpoints.
 */
export function reconcileCheckpoints(
  state: Verification,
  checkpoints: Checkpoint[],
  files: Opened[],
  anchor: Anchor | undefined,
  options: {profile?: Profile},
): Reconciled {
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
  return {base, lastSealed, lastHeadFile, prunedSealed}
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

import {readFile} from 'node:fs/promises'
import {basename} from 'node:path'

import {AuditError} from '../errors.js'
import type {LocatedEntry, Profile} from '../events/model.js'
import type {RemovedFile} from '../store/retention.js'
import {Diagnostics} from '../store/diagnostics.js'
import {type LogFile, plainName} from '../store/files.js'
import {decodeFile, readEntryBatches} from '../store/reader.js'
import {FileSink} from '../transport/file.js'

/** Where the last export ended: the last entry delivered, by file, line, chain hash and time. */
export interface ExportState {
  version: 1
  /** The file's name when it was exported (rotation may have moved it into a part since). */
  file: string
  line: number
  chain_hash: string | null
  timestamp: string
  exported_at: string
}

/** A state that does not match the log: refused, never answered with a silent re-export. */
export class StateMismatchError extends AuditError {}

export function stateOf(located: LocatedEntry, now = new Date()): ExportState {
  return stateAt(
    {file: basename(located.file), line: located.line, chain_hash: located.entry.chain_hash ?? null, timestamp: located.entry.timestamp},
    now,
  )
}

/** The state after the entry at this position (file name, line, chain hash, timestamp). */
export function stateAt(at: {file: string; line: number; chain_hash: string | null; timestamp: string}, now = new Date()): ExportState {
  return {version: 1, file: at.file, line: at.line, chain_hash: at.chain_hash, timestamp: at.timestamp, exported_at: now.toISOString()}
}

/** The state in `path`; undefined when there is none yet (the first run exports everything). */
export async function readState(path: string): Promise<ExportState | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  let state: unknown
  try {
    state = JSON.parse(text)
  } catch {
    throw new AuditError(`--since-last ${path}: not an export state (not JSON)`)
  }
  const s = state as Partial<ExportState>
  if (
    s === null ||
    typeof s !== 'object' ||
    s.version !== 1 ||
    typeof s.file !== 'string' ||
    !Number.isSafeInteger(s.line) ||
    (s.line as number) < 1 ||
    (s.chain_hash !== null && (typeof s.chain_hash !== 'string' || s.chain_hash.length !== 64)) ||
    typeof s.timestamp !== 'string'
  ) {
    throw new AuditError(`--since-last ${path}: not an export state (expected version 1 with file, line, chain_hash, timestamp)`)
  }
  return s as ExportState
}

/** Replaces the state file atomically (0600): a crash leaves the old state or the new one. */
export async function writeState(path: string, state: ExportState): Promise<void> {
  const file = await FileSink.open(path)
  await file.write(`${JSON.stringify(state, null, 2)}\n`)
  await file.close()
}

/** Where to resume: the files from the one holding the state's entry, and the line to skip up to in the first. */
export interface Resume {
  files: LogFile[]
  /** Lines of `files[0]` up to and including this one were exported already. */
  afterLine: number
  /** The state's entry is in a file that retention removed; the export starts at the first file left. */
  pruned?: boolean
}

function same(located: LocatedEntry, state: ExportState): boolean {
  return (
    located.line === state.line && located.entry.timestamp === state.timestamp && (located.entry.chain_hash ?? null) === state.chain_hash
  )
}

/** The entry at the state's line in `file`, unfiltered, or undefined when the file is shorter. */
async function entryAtLine(file: LogFile, line: number, profile: Profile | undefined): Promise<LocatedEntry | undefined> {
  for await (const batch of decodeFile(file, {profile}, new Diagnostics())) {
    const found = batch.find((located) => located.line >= line)
    if (found) return found.line === line ? found : undefined
  }
  return undefined
}

/**
 * Finds the state's entry in the log as it is now. The day's files are searched (size rotation moves
 * the live file into a numbered part, gzip renames that; the line number stays). When the day is
 * gone, an `audit.retention` record that removed the state's file with the state's hash as its last
 * one lets the export go on from the first file left; anything else is a StateMismatchError.
 */
export async function resumePoint(files: LogFile[], state: ExportState, path: string, profile: Profile | undefined): Promise<Resume> {
  const day = parseDay(state.file)
  const candidates = files.filter((f) => f.day === day)
  // The file of the same name first; then the day's other parts, newest first (a rotation moved it there).
  candidates.sort(
    (a, b) => Number(plainName(b.name) === plainName(state.file)) - Number(plainName(a.name) === plainName(state.file)) || b.part - a.part,
  )
  for (const file of candidates) {
    const found = await entryAtLine(file, state.line, profile)
    if (found && same(found, state)) return {files: files.slice(files.indexOf(file)), afterLine: state.line}
  }
  if (candidates.length > 0 || !state.chain_hash) {
    throw new StateMismatchError(
      `--since-last ${path}: the log no longer holds the last exported entry (${state.file}:${state.line}, ${state.timestamp}): the file was changed or rotated away; check with audit verify, or delete the state to export everything`,
    )
  }
  const removed = await retentionRecords(files, profile)
  const index = removed.findIndex((r) => plainName(r.file) === plainName(state.file) && r.last_hash === state.chain_hash)
  if (index < 0) {
    throw new StateMismatchError(
      `--since-last ${path}: ${state.file} is gone and no audit.retention record accounts for its last exported entry (${state.timestamp}); check with audit verify, or delete the state to export everything`,
    )
  }
  const lost = removed.slice(index + 1).reduce((n, r) => n + r.entries, 0)
  if (lost > 0)
    throw new StateMismatchError(
      `--since-last ${path}: retention removed ${lost} entries after the last exported one (${state.file}:${state.line}) before they were exported`,
    )
  return {files, afterLine: 0, pruned: true}
}

function parseDay(name: string): string {
  return /^audit-(\d{4}-\d{2}-\d{2})/.exec(name)?.[1] ?? ''
}

/** Every file the log's audit.retention entries record as removed, in the order removed. */
async function retentionRecords(files: LogFile[], profile: Profile | undefined): Promise<RemovedFile[]> {
  const removed: RemovedFile[] = []
  const filter = {matches: (l: LocatedEntry) => l.entry.event === 'audit.retention', lineNeedles: ['"audit.retention"']}
  for await (const batch of readEntryBatches(files, {filter, profile})) {
    for (const {entry} of batch) if (Array.isArray(entry.details.removed)) removed.push(...(entry.details.removed as RemovedFile[]))
  }
  return removed
}

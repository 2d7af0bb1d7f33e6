import type {FileCommitment} from '../checkpoint.js'
import type {Profile} from '../../events/model.js'

/** What verification reports: its problems, per-file results and the report as a whole. */

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
  | 'damaged-age'
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
  profile: Profile
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

/** Verification could not start: the checkpoint file cannot be read (a usage error, not a finding). */
export class VerifyError extends Error {}

/** `1 entry`, `2 entries`: a count with its noun. */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`
}

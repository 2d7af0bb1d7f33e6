import {basename} from 'node:path'

import {sanitizeText} from '../text/sanitize.js'

/** Kinds of unreadable input; each is counted and reported once with its first location. */
export const PROBLEM_KINDS = {
  malformed: ['malformed line', 'malformed lines'],
  'not-object': ['line that is not a JSON object', 'lines that are not JSON objects'],
  invalid: ['entry failing the schema', 'entries failing the schema'],
  utf8: ['line with invalid UTF-8', 'lines with invalid UTF-8'],
  'too-long': ['line over 1 MiB', 'lines over 1 MiB'],
  unterminated: ['unterminated last line', 'unterminated last lines'],
  'truncated-gzip': ['truncated or corrupt gzip file', 'truncated or corrupt gzip files'],
  'damaged-age': ['truncated or changed age file', 'truncated or changed age files'],
  unreadable: ['unreadable file', 'unreadable files'],
  /** An age file read without the identity it was encrypted to: listed file by file, never as damage. */
  encrypted: ['encrypted file not read', 'encrypted files not read'],
} as const

/** Kinds told file by file (`cannot read FILE: reason`), so a user knows each file the answer left out. */
const EACH_FILE: ReadonlySet<ProblemKind> = new Set(['encrypted'])

export type ProblemKind = keyof typeof PROBLEM_KINDS

export interface Problem {
  kind: ProblemKind
  file: string
  /** 1-based line; absent for a whole-file problem. */
  line?: number
  reason: string
}

interface Tally {
  count: number
  first: Problem
  /** Every problem after the first, for kinds told file by file. */
  more?: Problem[]
}

/** Collects problems met while reading, so a command can go on and report them at the end. */
export class Diagnostics {
  private readonly tallies = new Map<ProblemKind, Tally>()

  report(problem: Problem): void {
    const tally = this.tallies.get(problem.kind)
    if (!tally) this.tallies.set(problem.kind, {count: 1, first: problem})
    else {
      tally.count++
      if (EACH_FILE.has(problem.kind)) (tally.more ??= []).push(problem)
    }
  }

  /** Adds another reader's problems; `other` covers files later in chain order. */
  merge(other: Diagnostics): void {
    for (const [kind, {count, first, more}] of other.tallies) {
      const tally = this.tallies.get(kind)
      if (!tally) this.tallies.set(kind, {count, first, ...(more ? {more: [...more]} : {})})
      else {
        tally.count += count
        if (EACH_FILE.has(kind)) (tally.more ??= []).push(first, ...(more ?? []))
      }
    }
  }

  /** A copy with every line number passed through `renumber` (for problems found reading backwards). */
  renumbered(renumber: (line: number) => number): Diagnostics {
    const copy = new Diagnostics()
    for (const [kind, {count, first, more}] of this.tallies)
      copy.tallies.set(kind, {
        count,
        first: first.line === undefined ? first : {...first, line: renumber(first.line)},
        ...(more ? {more} : {}),
      })
    return copy
  }

  /** A plain-JSON form, for passing between threads or caching. */
  toJSON(): Array<[ProblemKind, number, Problem, Problem[]?]> {
    return [...this.tallies].map(([kind, {count, first, more}]) => (more ? [kind, count, first, more] : [kind, count, first]))
  }

  static fromJSON(data: Array<[ProblemKind, number, Problem, Problem[]?]>): Diagnostics {
    const diagnostics = new Diagnostics()
    for (const [kind, count, first, more] of data) diagnostics.tallies.set(kind, {count, first, ...(more ? {more} : {})})
    return diagnostics
  }

  get total(): number {
    let n = 0
    for (const t of this.tallies.values()) n += t.count
    return n
  }

  counts(): Partial<Record<ProblemKind, number>> {
    return Object.fromEntries([...this.tallies].map(([kind, t]) => [kind, t.count]))
  }

  /** One line per kind: `warning: 3 malformed lines, first at audit-2026-11-02.jsonl:118 (reason)`. */
  lines(): string[] {
    return [...this.tallies].flatMap(([kind, {count, first, more}]) => {
      if (EACH_FILE.has(kind)) return [first, ...(more ?? [])].map((p) => sanitizeText(`audit: cannot read ${p.file}: ${p.reason}`))
      const [one, many] = PROBLEM_KINDS[kind]
      const where = `${basename(first.file)}${first.line === undefined ? '' : `:${first.line}`}`
      return [sanitizeText(`warning: ${count} ${count === 1 ? one : many}, ${count === 1 ? 'at' : 'first at'} ${where} (${first.reason})`)]
    })
  }
}

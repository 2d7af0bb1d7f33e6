import {basename} from 'node:path'

import {VerifyError, type VerifyProblem, verifyDirectory} from '../../integrity/verify/index.js'
import type {Diagnostics} from '../../store/diagnostics.js'
import type {Finding, Severity} from '../report.js'
import type {Detector} from './detector.js'

const GRAVE = new Set(['hash-mismatch', 'chain-break', 'chain-start', 'entries-missing', 'file-missing', 'checkpoint', 'retention-record'])

/**
 * Integrity problems met while reading: the verify result of the files the range touched (hash
 * chain, checkpoints), and the lines the reader could not use.
 */
export class IntegrityDetector implements Detector {
  readonly id = 'integrity'
  /** Log file names the range read. */
  readonly files = new Set<string>()

  /** The chain is verified while the range is read (verify has its own threads), or by the reading itself (`verified`). */
  private readonly verifying?: Promise<VerifyProblem[] | Error>

  constructor(
    dir: string | undefined,
    private readonly diagnostics: Diagnostics,
    verified?: Promise<VerifyProblem[] | Error>,
  ) {
    this.verifying =
      dir === undefined
        ? undefined
        : (verified ??
          verifyDirectory(dir, {}).then(
            (report) => report.problems,
            (error: Error) => error,
          ))
  }

  observe(o: {file: string}): void {
    this.files.add(o.file)
  }

  async findings(): Promise<Finding[]> {
    const out: Finding[] = []
    if (this.verifying) {
      const verified = await this.verifying
      if (verified instanceof Error && !(verified instanceof VerifyError)) throw verified
      const problems = verified instanceof Error ? [{kind: 'unreadable' as const, file: '', message: verified.message}] : verified
      // Problems of the range's files, and those of the chain as a whole (checkpoints, missing files).
      const relevant = problems.filter((p) => this.files.has(p.file) || p.line === undefined || !/^audit-/.test(p.file))
      const byKind = new Map<string, VerifyProblem[]>()
      for (const p of relevant) byKind.set(p.kind, [...(byKind.get(p.kind) ?? []), p])
      for (const [kind, list] of byKind) {
        const severity: Severity = GRAVE.has(kind) ? 'critical' : 'medium'
        out.push({
          id: `integrity:${kind}`,
          source: this.id,
          title: `Integrity: ${list.length} ${kind} problem(s) in the chain`,
          severity,
          category: 'integrity',
          count: list.length,
          first_seen: null,
          last_seen: null,
          actors: [],
          ips: [],
          evidence: list
            .filter((p) => p.line !== undefined)
            .slice(0, 10)
            .map((p) => ({file: basename(p.file), line: p.line!})),
          explanation: `audit verify found: ${list[0].message}${list.length > 1 ? ` (and ${list.length - 1} more)` : ''}.`,
          recommendation:
            severity === 'critical'
              ? 'Treat the log as tampered with until explained: keep a copy, run `audit verify --verbose` and compare with a backup or a sealed checkpoint.'
              : 'Run `audit verify` for the details; damaged lines are usually a crash or a full disk, but confirm.',
        })
      }
    }
    for (const [kind, count, first] of this.diagnostics.toJSON()) {
      out.push({
        id: `integrity:unreadable-${kind}`,
        source: this.id,
        title: `Unreadable input: ${count} ${kind} line(s)`,
        severity: 'medium',
        category: 'integrity',
        count,
        first_seen: null,
        last_seen: null,
        actors: [],
        ips: [],
        evidence: first.line === undefined ? [] : [{file: basename(first.file), line: first.line}],
        explanation: `${count} line(s) could not be read as entries (${kind}), first at ${basename(first.file)}${first.line === undefined ? '' : `:${first.line}`}: ${first.reason}.`,
        recommendation: 'Look at those lines: a writer other than auditkit, a crash mid-write or an edit by hand.',
      })
    }
    return out
  }
}

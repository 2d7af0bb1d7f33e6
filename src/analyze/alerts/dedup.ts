import {mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {dirname} from 'node:path'

import {normaliseTitle} from '../llm/llm.js'
import type {Finding} from '../report.js'

/** What makes two findings the same alert: the detector and who (LLM findings: the normalised title). */
export function dedupKey(f: Finding): string {
  if (f.source === 'llm') return `llm|${normaliseTitle(f.title)}`
  // Findings of one detector about one actor or IP are one alert, whatever their window.
  const stem = f.id.replace(/:\d{4}-\d{2}-\d{2}T.*$/, '')
  return `${f.source}|${stem}|${[...f.actors].sort().join(',')}|${[...f.ips].sort().join(',')}`
}

/** A file of the keys sent and when, so a timer every five minutes does not repeat an alert within the window. */
export class DedupState {
  private readonly sent: Record<string, number>

  private constructor(
    private readonly path: string,
    sent: Record<string, number>,
  ) {
    this.sent = sent
  }

  static open(path: string): DedupState {
    let sent: Record<string, number> = {}
    try {
      const parsed = JSON.parse(readFileSync(path, 'utf8'))
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
        for (const [k, v] of Object.entries(parsed)) if (typeof v === 'number') sent[k] = v
      }
    } catch {
      // Missing or damaged: start afresh (at worst an alert repeats once).
      sent = {}
    }
    return new DedupState(path, sent)
  }

  /** The findings not sent within the window. */
  fresh(findings: Finding[], now: number, windowMs: number): Finding[] {
    return findings.filter((f) => {
      const at = this.sent[dedupKey(f)]
      return at === undefined || now - at >= windowMs
    })
  }

  markSent(findings: Finding[], now: number, windowMs: number): void {
    for (const f of findings) this.sent[dedupKey(f)] = now
    // Forget what is past the window, so the file stays small.
    for (const [k, at] of Object.entries(this.sent)) if (now - at >= windowMs) delete this.sent[k]
    mkdirSync(dirname(this.path), {recursive: true, mode: 0o700})
    const temp = `${this.path}.${process.pid}.tmp`
    writeFileSync(temp, JSON.stringify(this.sent), {mode: 0o600})
    renameSync(temp, this.path)
  }
}

import type {Paint} from '../../formats/paint.js'
import {sanitizeLine} from '../../text/sanitize.js'
import {type AnalyzeReport, type Finding, SEVERITIES, type Severity} from '../report.js'

const paintFor = (c: Paint, severity: Severity) =>
  ({critical: (t: string) => c.bold(c.red(t)), high: c.red, medium: c.yellow, low: c.cyan})[severity]

/** The report for a terminal: totals, then findings grouped by severity (most severe first); log content sanitised. */
export function renderTerminal(report: AnalyzeReport, c: Paint): string {
  const out: string[] = []
  const s = sanitizeLine
  out.push(c.bold(`audit analyze: ${s(report.source)}`))
  out.push(
    `range: ${report.range.since ?? 'start'} – ${report.range.until ?? 'now'}${report.range.baseline_since ? ` (baseline from ${report.range.baseline_since})` : ''}`,
  )
  const t = report.totals
  out.push(
    `entries: ${t.entries} (failures ${t.failures}${t.unreadable_lines ? `, unreadable lines ${t.unreadable_lines}` : ''}), baseline entries: ${t.baseline_entries}`,
  )
  out.push('')
  if (report.findings.length === 0) out.push(c.green('No findings.'))
  for (const severity of [...SEVERITIES].reverse()) {
    const group = report.findings.filter((f) => f.severity === severity)
    if (group.length === 0) continue
    out.push(paintFor(c, severity)(c.bold(`${severity.toUpperCase()} (${group.length})`)))
    for (const f of group) out.push(...findingLines(f, c))
    out.push('')
  }
  out.push(c.bold('LLM: ') + llmLine(report))
  if (report.llm.summary) out.push(`  ${s(report.llm.summary)}`)
  for (const note of report.notes) out.push(c.dim(`note: ${s(note)}`))
  return `${out.join('\n')}\n`
}

function findingLines(f: Finding, c: Paint): string[] {
  const s = sanitizeLine
  const lines = [`  ${paintFor(c, f.severity)('●')} ${c.bold(s(f.title))} ${c.dim(`[${f.category}, ${f.source}]`)}`]
  const when = f.first_seen ? `${f.first_seen}${f.last_seen && f.last_seen !== f.first_seen ? ` – ${f.last_seen}` : ''}` : ''
  const who = [f.actors.length ? `actors: ${f.actors.map(s).join(', ')}` : '', f.ips.length ? `IPs: ${f.ips.map(s).join(', ')}` : '']
    .filter(Boolean)
    .join('; ')
  if (when || who) lines.push(`    ${[when, who].filter(Boolean).join('  ')}`)
  lines.push(`    ${s(f.explanation)}`)
  lines.push(`    ${c.green('→')} ${s(f.recommendation)}`)
  if (f.evidence.length) lines.push(c.dim(`    evidence: ${f.evidence.map((e) => `${s(e.file)}:${e.line}`).join(' ')}`))
  return lines
}

export function llmLine(report: AnalyzeReport): string {
  const l = report.llm
  const s = sanitizeLine
  if (l.status === 'ok')
    return `${s(l.model ?? '')} (${l.prompt} prompt, ${l.calls} call(s))${l.dropped_findings ? `; ${l.dropped_findings} finding(s) dropped for citing no entry of the input` : ''}`
  if (l.status === 'skipped') return `skipped (${s(l.reason ?? '')})`
  return `failed: ${s(l.reason ?? '')}; the findings above are the detectors' alone`
}

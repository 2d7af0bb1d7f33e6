import {escapeMarkdown as md} from '../../text/markup.js'
import {sanitizeLine} from '../../text/sanitize.js'
import {type AnalyzeReport, SEVERITIES} from '../report.js'
import {llmLine} from './terminal.js'

/** Text that stands as a paragraph of its own: a leading `#`, `+`, `-`, `=` or `1.` must not make it a heading or a list. */
const paragraph = (text: string) =>
  md(text)
    .replace(/^(\s*)([#+=-])/, '$1\\$2')
    .replace(/^(\s*\d+)([.)])/, '$1\\$2')

export function renderMarkdown(report: AnalyzeReport): string {
  const out: string[] = [`# audit analyze: ${md(report.source)}`, '']
  out.push(`- Range: ${report.range.since ?? 'start'} – ${report.range.until ?? 'now'}`)
  out.push(`- Entries: ${report.totals.entries} (failures ${report.totals.failures}); baseline entries ${report.totals.baseline_entries}`)
  out.push(`- Findings: ${report.findings.length}`)
  out.push(`- LLM: ${md(llmLine(report))}`)
  out.push('')
  for (const severity of [...SEVERITIES].reverse()) {
    const group = report.findings.filter((f) => f.severity === severity)
    if (group.length === 0) continue
    out.push(`## ${severity[0].toUpperCase()}${severity.slice(1)} (${group.length})`, '')
    for (const f of group) {
      out.push(`### ${md(f.title)}`, '')
      out.push(`*${f.category}, ${md(f.source)}* · count ${f.count}${f.first_seen ? ` · ${f.first_seen} – ${f.last_seen}` : ''}`, '')
      if (f.actors.length) out.push(`Actors: ${f.actors.map(md).join(', ')}  `)
      if (f.ips.length) out.push(`IPs: ${f.ips.map(md).join(', ')}  `)
      out.push('', paragraph(f.explanation), '', `**Recommendation:** ${md(f.recommendation)}`, '')
      if (f.evidence.length)
        out.push(`Evidence: ${f.evidence.map((e) => `\`${sanitizeLine(e.file).replace(/`/g, '')}:${e.line}\``).join(', ')}`, '')
    }
  }
  if (report.llm.summary) out.push('## LLM summary', '', paragraph(report.llm.summary), '')
  for (const note of report.notes) out.push(`> ${md(note)}`)
  return `${out.join('\n')}\n`
}

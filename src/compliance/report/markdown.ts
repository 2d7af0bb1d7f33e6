import {escapeMarkdown as md} from '../../text/markup.js'
import {type ComplianceReport, STATUS_LABEL} from './controls.js'
import type {Ref} from './facts.js'

const refs = (list: Ref[] | undefined) => (list?.length ? ` (${list.map((r) => `\`${md(r.file)}:${r.line}\``).join(', ')})` : '')

/** The report as Markdown: a heading per control with its status, then its evidence as a list. */
export function renderMarkdown(report: ComplianceReport): string {
  const out = [
    `# ${md(report.title)}`,
    '',
    `- Log directory: ${md(report.dir)}`,
    `- Range: ${report.range.since ?? 'the start of the log'} – ${report.range.until}`,
    `- Generated: ${report.generated}`,
    `- Verdict: **${STATUS_LABEL[report.verdict]}**`,
    '',
  ]
  for (const c of report.controls) {
    out.push(`## ${md(c.id)} ${md(c.title)}: ${STATUS_LABEL[c.status]}`, '', md(c.reason), '')
    for (const e of c.evidence) out.push(`- ${md(e.label)}: ${md(e.value)}${refs(e.refs)}`)
    out.push('')
  }
  const u = report.usage
  out.push(
    '## Usage',
    '',
    `- Entries: ${u.entries}`,
    `- Requests (api.request): ${u.requests}`,
    `- Unique users: ${u.unique_users}`,
    `- Error rate: ${u.error_rate}%`,
  )
  for (const m of u.models) out.push(`- Model ${md(m.name)}: ${m.count} (${m.share}%)`)
  return `${out.join('\n')}\n`
}

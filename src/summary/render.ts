import {formatTime} from '../events/time.js'
import type {Paint} from '../formats/paint.js'
import {sanitizeLine} from '../text/sanitize.js'
import type {CountShare, SummaryReport} from './aggregate.js'

const BAR_WIDTH = 40

function table(rows: CountShare[], width: number): string[] {
  return rows.map((r) => `  ${sanitizeLine(r.name).padEnd(width)} ${String(r.count).padStart(9)}  ${r.share.toFixed(1).padStart(5)}%`)
}

/** The fixed, aureport-style text layout of a summary report. */
export function renderSummary(report: SummaryReport, c: Paint, notes: {logEnded?: boolean; local?: boolean} = {}): string {
  const out: string[] = []
  const heading = (text: string) => out.push('', c.bold(text), c.dim('='.repeat(text.length)))
  const field = (name: string, value: string | number) => out.push(`${`${name}:`.padEnd(24)} ${value}`)
  const {selected, present} = report.range
  const when = (iso: string) => (notes.local ? formatTime(Date.parse(iso), true) : iso)
  const entries = (n: number) => `${n} ${n === 1 ? 'entry' : 'entries'}`

  out.push(c.bold('Audit Summary Report'), c.dim('===================='))
  field(
    'Range selected',
    `${selected.since ? when(selected.since) : 'beginning'} .. ${selected.until ? when(selected.until) : 'now'}${notes.logEnded ? " (the log's last 24 hours: it has no entries in the last 24 hours)" : ''}`,
  )
  field('Range in logs', present.first && present.last ? `${when(present.first)} .. ${when(present.last)}` : 'none')
  field('Files read', report.files.read)
  field('Total entries', report.total)
  field('Unique actors', report.unique_actors)
  field('Unique IPs', report.unique_ips)
  field('Failures', report.failures.total)
  field('Error rate', `${report.failures.error_rate.toFixed(1)}% (failures of all entries)`)
  field(
    'Peak hour',
    report.peak_hour ? `${when(report.peak_hour.hour).replace(/:00\.000/, '')} (${entries(report.peak_hour.count)})` : 'none',
  )
  const problemCount = Object.values(report.problems).reduce((a, b) => a + b, 0)
  if (problemCount > 0) field('Unreadable lines/files', c.yellow(String(problemCount)))

  if (report.total === 0) return `${out.join('\n')}\n`

  // reduce, not Math.max(...): a log may hold more distinct names than a call has room for arguments.
  const width = [...report.by_event, ...report.top_actors].reduce((w, r) => Math.max(w, Math.min(r.name.length, 40)), 12)
  heading('Events')
  out.push(...table(report.by_event, width))
  heading('Levels')
  const levelColor: Record<string, (s: string) => string> = {debug: c.dim, info: (s) => s, warning: c.yellow, error: c.red}
  out.push(...table(report.by_level, width).map((line, i) => levelColor[report.by_level[i].name](line)))
  heading(`Top actors (of ${report.unique_actors})`)
  out.push(...table(report.top_actors, width))

  if (report.failures.latest.length > 0) {
    heading('Latest failures')
    for (const f of report.failures.latest) {
      out.push(`  ${when(f.timestamp)}  ${c.red(f.level.padEnd(7))} ${sanitizeLine(f.event).padEnd(width)} ${sanitizeLine(f.actor)}`)
    }
  }

  if (report.models) {
    heading('Model usage')
    field('Model requests', report.models.requests)
    field('Model usage', `${report.models.usage_percent.toFixed(1)}% of entries`)
    out.push(...table(report.models.by_model, width))
  }

  heading(notes.local ? 'Per day (local time)' : 'Per day (UTC)')
  const max = report.per_day.reduce((m, d) => Math.max(m, d.count), 0)
  for (const d of report.per_day) {
    const bar = '#'.repeat(Math.max(d.count > 0 ? 1 : 0, Math.round((d.count / max) * BAR_WIDTH)))
    out.push(`  ${d.day} ${String(d.count).padStart(9)}  ${c.cyan(bar)}`)
  }

  heading('Compliance figures')
  field('Total requests', report.total)
  field('Unique users', report.unique_actors)
  field('Model usage', report.models ? `${report.models.usage_percent.toFixed(1)}%` : '0.0%')
  field('Error rate', `${report.failures.error_rate.toFixed(1)}%`)
  field('Peak usage', report.peak_hour ? `${entries(report.peak_hour.count)} in an hour` : 'none')
  return `${out.join('\n')}\n`
}

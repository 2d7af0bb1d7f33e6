import {escapeHtml as esc} from '../../text/markup.js'
import {type AnalyzeReport, SEVERITIES} from '../report.js'
import {llmLine} from './terminal.js'

const COLOURS = {critical: '#8b0000', high: '#d9362b', medium: '#e69b00', low: '#2b7bd9'} as const

/** A self-contained page (no script, no outside resource): a per-hour activity chart in inline SVG, then the findings. */
export function renderHtml(report: AnalyzeReport): string {
  const findings = [...SEVERITIES]
    .reverse()
    .flatMap((severity) => report.findings.filter((f) => f.severity === severity))
    .map(
      (f) => `
<section class="finding" style="border-left-color:${COLOURS[f.severity]}">
  <h3><span class="sev" style="background:${COLOURS[f.severity]}">${f.severity}</span> ${esc(f.title)}</h3>
  <p class="meta">${f.category} · ${esc(f.source)} · count ${f.count}${f.first_seen ? ` · ${esc(f.first_seen)} – ${esc(f.last_seen ?? '')}` : ''}</p>
  ${f.actors.length ? `<p>Actors: ${f.actors.map(esc).join(', ')}</p>` : ''}${f.ips.length ? `<p>IPs: ${f.ips.map(esc).join(', ')}</p>` : ''}
  <p>${esc(f.explanation)}</p>
  <p><b>Recommendation:</b> ${esc(f.recommendation)}</p>
  ${f.evidence.length ? `<p class="ev">Evidence: ${f.evidence.map((e) => `<code>${esc(e.file)}:${e.line}</code>`).join(' ')}</p>` : ''}
</section>`,
    )
    .join('')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>audit analyze: ${esc(report.source)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222}
.finding{border-left:6px solid;padding:.2em 1em;margin:1em 0;background:#fafafa}
.sev{color:#fff;border-radius:3px;padding:0 .4em;font-size:.8em;text-transform:uppercase}
.meta,.ev{color:#666}
svg{background:#fff;border:1px solid #ddd}
</style></head><body>
<h1>audit analyze</h1>
<p>${esc(report.source)} · ${esc(report.range.since ?? 'start')} – ${esc(report.range.until ?? 'now')} · ${report.totals.entries} entries, ${report.totals.failures} failures · ${report.findings.length} findings</p>
<h2>Activity per hour</h2>
${chart(report)}
<h2>Findings</h2>
${findings || '<p>No findings.</p>'}
<p><b>LLM:</b> ${esc(llmLine(report))}</p>
${report.llm.summary ? `<p>${esc(report.llm.summary)}</p>` : ''}
${report.notes.map((n) => `<p class="meta">note: ${esc(n)}</p>`).join('')}
</body></html>
`
}

/** Bars of entries per hour (failures darker on top), with the first hour of each day labelled. */
function chart(report: AnalyzeReport): string {
  const hours = report.totals.by_hour
  if (hours.length === 0) return '<p>No entries in the range.</p>'
  const width = 900
  const height = 200
  const top = Math.max(...hours.map((h) => h.count))
  const first = Date.parse(hours[0].hour)
  const span = Math.max(1, (Date.parse(hours.at(-1)!.hour) - first) / 3_600_000 + 1)
  const bar = width / span
  const y = (n: number) => (n / top) * (height - 20)
  const bars = hours
    .map((h) => {
      const x = ((Date.parse(h.hour) - first) / 3_600_000) * bar
      return (
        `<rect x="${x.toFixed(1)}" y="${(height - y(h.count)).toFixed(1)}" width="${Math.max(1, bar - 1).toFixed(1)}" height="${y(h.count).toFixed(1)}" fill="#7aa6d9"><title>${h.hour}: ${h.count} entries, ${h.failures} failures</title></rect>` +
        `<rect x="${x.toFixed(1)}" y="${(height - y(h.failures)).toFixed(1)}" width="${Math.max(1, bar - 1).toFixed(1)}" height="${y(h.failures).toFixed(1)}" fill="#d9362b"/>`
      )
    })
    .join('')
  const labels = hours
    .filter((h) => h.hour.slice(11, 13) === '00' || h === hours[0])
    .map((h) => {
      const x = ((Date.parse(h.hour) - first) / 3_600_000) * bar
      return `<text x="${x.toFixed(1)}" y="12" font-size="10" fill="#444">${h.hour.slice(0, 13)}h</text>`
    })
    .join('')
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="entries per hour (failures in red), peak ${top}">${bars}${labels}</svg>
<p class="meta">Entries per hour (UTC) in blue, failures in red; the tallest bar is ${top} entries. A gap is an hour without entries.</p>`
}

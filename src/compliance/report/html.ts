import {escapeHtml as esc} from '../../text/markup.js'
import {type ComplianceReport, STATUS_LABEL, type Status} from './controls.js'
import type {Ref} from './facts.js'

const COLOURS: Record<Status, string> = {met: '#1e7b34', attention: '#b26a00', 'not-met': '#b3261e', unknown: '#5f6368'}

const badge = (s: Status) => `<span class="st" style="background:${COLOURS[s]}">${esc(STATUS_LABEL[s])}</span>`
const refs = (list: Ref[] | undefined) => (list?.length ? ` ${list.map((r) => `<code>${esc(r.file)}:${r.line}</code>`).join(' ')}` : '')

/** One self-contained page (no script, no outside resource; a CSP forbids both) an auditor can archive. */
export function renderHtml(report: ComplianceReport): string {
  const controls = report.controls
    .map(
      (c) => `
<section style="border-left-color:${COLOURS[c.status]}">
  <h2>${esc(c.id)} ${esc(c.title)} ${badge(c.status)}</h2>
  <p>${esc(c.reason)}</p>
  <table>${c.evidence.map((e) => `<tr><th>${esc(e.label)}</th><td>${esc(e.value)}${refs(e.refs)}</td></tr>`).join('')}</table>
</section>`,
    )
    .join('')
  const u = report.usage
  const models = u.models.map((m) => `<tr><th>Model ${esc(m.name)}</th><td>${m.count} (${m.share}%)</td></tr>`).join('')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${esc(report.title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:62em;color:#222}
section{border-left:6px solid;padding:.2em 1em;margin:1.2em 0;background:#fafafa}
h2{font-size:1.15em}
.st{color:#fff;border-radius:3px;padding:.1em .5em;font-size:.8em;vertical-align:middle}
table{border-collapse:collapse;width:100%}
th{text-align:left;font-weight:normal;color:#555;width:40%;vertical-align:top;padding:.15em .5em .15em 0}
td{padding:.15em 0;overflow-wrap:anywhere}
code{font-size:.9em;color:#444}
</style></head><body>
<h1>${esc(report.title)}</h1>
<p>${esc(report.dir)} · ${esc(report.range.since ?? 'the start of the log')} – ${esc(report.range.until)} · generated ${esc(report.generated)}</p>
<p>Verdict: ${badge(report.verdict)}</p>
${controls}
<section style="border-left-color:#2b7bd9">
  <h2>Usage</h2>
  <table><tr><th>Entries</th><td>${u.entries}</td></tr><tr><th>Requests (api.request)</th><td>${u.requests}</td></tr>
  <tr><th>Unique users</th><td>${u.unique_users}</td></tr><tr><th>Error rate</th><td>${u.error_rate}%</td></tr>${models}</table>
</section>
</body></html>
`
}

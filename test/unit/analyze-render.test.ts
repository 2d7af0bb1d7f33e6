import assert from 'node:assert/strict'
import {test} from 'node:test'

import {renderHtml} from '../../src/analyze/render/html.js'
import {renderMarkdown} from '../../src/analyze/render/markdown.js'
import type {AnalyzeReport} from '../../src/analyze/report.js'

const EVIL = '\u001b]0;pwned\u0007[click](https://evil.example) <img src=x onerror=alert(1)> *bold* `code` | cell'

function report(text: string): AnalyzeReport {
  return {
    generated_at: '2026-11-04T12:00:00.000Z',
    source: text,
    range: {since: '2026-11-03T12:00:00.000Z', until: '2026-11-04T12:00:00.000Z', baseline_since: null},
    totals: {entries: 1, baseline_entries: 0, failures: 1, unreadable_lines: 0, by_level: {}, top_events: [], top_actors: [], by_hour: []},
    findings: [
      {
        id: 'first-seen:actor:x',
        source: 'first-seen',
        title: `First-seen actor: ${text}`,
        severity: 'medium',
        category: 'security',
        count: 1,
        first_seen: '2026-11-04T11:00:00.000Z',
        last_seen: '2026-11-04T11:00:00.000Z',
        actors: [text],
        ips: [],
        evidence: [{file: 'audit-2026-11-04.jsonl', line: 3}],
        explanation: `# ${text}`,
        recommendation: text,
      },
    ],
    llm: {status: 'ok', calls: 1, dropped_findings: 0, summary: `1. ${text}`},
    notes: [text],
  }
}

test('markdown: log and model text cannot add links, HTML, formatting, headings or lists, nor reach the terminal', () => {
  const out = renderMarkdown(report(EVIL))
  assert.doesNotMatch(out, /\u001b|\u0007/)
  assert.doesNotMatch(out, /(?<!\\)\[click(?<!\\)\]/)
  assert.doesNotMatch(out, /(?<!\\)<img/)
  assert.doesNotMatch(out, /(?<!\\)\*bold(?<!\\)\*/)
  assert.match(out, /\\\[click\\\]/)
  // The explanation and the LLM summary stand as paragraphs: no heading, no numbered list.
  assert.doesNotMatch(out, /^# \\\[click/m)
  assert.match(out, /^\\# /m)
  assert.match(out, /^1\\\. /m)
})

test('html: log and model text are entities, never markup', () => {
  const out = renderHtml(report(EVIL))
  assert.doesNotMatch(out, /\u001b|\u0007|<img/)
  assert.match(out, /&lt;img src=x onerror=alert\(1\)&gt;/)
})

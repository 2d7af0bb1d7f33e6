/** Text line parsing, Loki paging, Retry-After, redaction and the alert payloads. */
import assert from 'node:assert/strict'
import {after, test} from 'node:test'

import {discordPayload, slackPayload} from '../../src/analyze/alerts/payloads.js'
import {dedupKey} from '../../src/analyze/alerts/dedup.js'
import {redactText} from '../../src/analyze/llm/llm.js'
import {lokiItems} from '../../src/analyze/loki.js'
import type {AnalyzeReport, Finding} from '../../src/analyze/report.js'
import {sampleText} from '../../src/analyze/sources.js'
import {messageTemplate, parseTextLine} from '../../src/analyze/text-lines.js'
import {Diagnostics} from '../../src/store/diagnostics.js'
import {retryAfterMs} from '../../src/transport/webhook.js'
import {FakeLoki} from '../fakes/loki-query.js'

const NOW = Date.parse('2026-11-30T12:00:00Z')

test('text lines: nginx combined, RFC 5424, RFC 3164 (sshd), ISO-first; others refused', () => {
  const nginx = parseTextLine('203.0.113.5 - - [30/Nov/2026:10:00:00 +0100] "POST /login HTTP/1.1" 401 12 "-" "curl/8"', NOW)!
  assert.equal(nginx.time, Date.parse('2026-11-30T09:00:00Z'))
  assert.deepEqual([nginx.event, nginx.ip, nginx.failure], ['http.unauthorized', '203.0.113.5', true])
  const r5424 = parseTextLine('<34>1 2026-11-30T10:00:00.5Z host app 12 ID47 - disk failed', NOW)!
  assert.deepEqual([r5424.event, r5424.level, r5424.failure], ['syslog.app', 'error', true])
  const ssh = parseTextLine('Nov 30 10:00:01 host sshd[99]: Failed password for invalid user admin from 198.51.100.3 port 22 ssh2', NOW)!
  assert.deepEqual([ssh.event, ssh.actor, ssh.ip], ['auth.fail', 'admin', '198.51.100.3'])
  // A December stamp read in November is last year's.
  assert.equal(new Date(parseTextLine('Dec 31 23:00:00 h cron[1]: ok', NOW)!.time).getUTCFullYear(), 2025)
  assert.equal(parseTextLine('2026-11-30T10:00:00Z started', NOW)!.event, 'syslog.log')
  assert.equal(parseTextLine('hello world', NOW), undefined)
  assert.equal(messageTemplate('user 42 from 10.0.0.1 id deadbeef99'), 'user # from <ip> id <hex>')
})

const started: FakeLoki[] = []
after(() => Promise.all(started.map((l) => l.close())))

test('Loki: pages by time with the limit, in order, each page one ns after the last line', async () => {
  const base = BigInt(Date.parse('2026-11-30T10:00:00Z')) * 1_000_000n
  const lines = Array.from({length: 7}, (_, i) => ({
    ns: String(base + BigInt(i) * 1_000_000_000n + 7n),
    line: `2026-11-30T10:00:0${i}Z line ${i}`,
    labels: {job: i % 2 ? 'a' : 'b'},
  }))
  const loki = await new FakeLoki(lines).start()
  started.push(loki)
  const got: string[] = []
  for await (const batch of lokiItems(
    {
      url: loki.url,
      query: '{job=~".+"}',
      since: Date.parse('2026-11-30T09:00:00Z'),
      until: Date.parse('2026-11-30T11:00:00Z'),
      limit: 3,
      now: NOW,
    },
    new Diagnostics(),
  ))
    for (const item of batch) got.push(sampleText(item))
  assert.equal(got.length, 7)
  assert.ok(
    got.every((t, i) => t.endsWith(`line ${i}`)),
    got.join('\n'),
  )
  assert.deepEqual(
    loki.requests.map((r) => r.get('limit')),
    ['3', '3', '3'],
  )
  assert.equal(loki.requests[1].get('start'), String(base + 2_000_000_000n + 8n))
})

test('Retry-After: seconds, an HTTP date, or a second when unreadable', () => {
  assert.equal(retryAfterMs('2'), 2000)
  assert.equal(retryAfterMs('0.5'), 500)
  assert.equal(retryAfterMs(new Date(NOW + 3000).toUTCString(), NOW), 3000)
  assert.equal(retryAfterMs(null), 1000)
  assert.equal(retryAfterMs('soon'), 1000)
})

test('redaction replaces every value as it appears in JSON, longest first', () => {
  const text = JSON.stringify({a: 'alice@example.com logged in as alice', b: 'quote"d'})
  const out = redactText(text, new Set(['alice', 'alice@example.com', 'quote"d']))
  assert.doesNotMatch(out, /alice|quote/)
  assert.deepEqual(JSON.parse(out), {a: '[redacted] logged in as [redacted]', b: '[redacted]'})
})

const finding: Finding = {
  id: 'brute-force:actor:m',
  source: 'brute-force',
  title: '@everyone <@123> *bold* \u001b[31mred',
  severity: 'critical',
  category: 'security',
  count: 3,
  first_seen: '2026-11-30T10:00:00.000Z',
  last_seen: null,
  actors: ['m'],
  ips: ['1.2.3.4'],
  evidence: [{file: 'a.jsonl', line: 3}],
  explanation: 'e',
  recommendation: 'r',
}
const report = {source: '/logs', range: {since: null, until: null, baseline_since: null}} as AnalyzeReport

test('payloads: Discord embeds and Slack blocks carry no mentions, markup or escapes from the log', () => {
  const discord = discordPayload(report, [finding]) as any
  assert.equal(discord.embeds[0].color, 0x8b0000)
  assert.doesNotMatch(discord.embeds[0].title, /@everyone|<@|\u001b/)
  const slack = slackPayload(report, [finding]) as any
  assert.doesNotMatch(JSON.stringify(slack), /\*bold\*|<@|\\u001b/)
  // The dedup key ignores the window's time for windowed detectors, and uses the title for the LLM.
  assert.equal(
    dedupKey({...finding, id: 'rate-spike:2026-11-30T10:00:00.000Z', source: 'rate-spike'}),
    dedupKey({...finding, id: 'rate-spike:2026-11-30T11:00:00.000Z', source: 'rate-spike'}),
  )
  assert.equal(
    dedupKey({...finding, source: 'llm', title: 'Spike of 42 errors'}),
    dedupKey({...finding, source: 'llm', title: 'spike of 57 errors!'}),
  )
})

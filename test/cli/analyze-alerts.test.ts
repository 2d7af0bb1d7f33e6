/** `audit analyze --notify` against loopback Discord and Slack receivers, and `--loki` against a fake Loki. */
import assert from 'node:assert/strict'
import {readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {after, test} from 'node:test'

import {reportSchema} from '../../src/analyze/report.js'
import {FakeLoki} from '../fakes/loki-query.js'
import {FakeWebhook} from '../fakes/webhook.js'
import {runAudit, tempDir} from '../helpers.js'
import {incidentDir} from './analyze-fixture.js'

const RANGE = ['--since', '2026-11-04T10:00:00Z', '--until', '2026-11-04T12:00:00Z']
const dir = incidentDir()
const started: Array<{close(): Promise<void>}> = []
after(() => Promise.all(started.map((s) => s.close())))

async function receiver(flavour: 'discord' | 'slack'): Promise<FakeWebhook> {
  const hook = await new FakeWebhook(flavour).start()
  started.push(hook)
  return hook
}

function notify(target: 'discord' | 'slack', url: string, state: string, extra: string[] = []) {
  return runAudit(['analyze', '--dir', dir, ...RANGE, '--no-llm', '--notify', target, ...extra], {
    env: {[target === 'discord' ? 'AUDIT_DISCORD_WEBHOOK' : 'AUDIT_SLACK_WEBHOOK']: url, XDG_STATE_HOME: state},
  })
}

test('Discord: embeds coloured by severity, at or above --min-severity; a second run within the window sends nothing', async () => {
  const hook = await receiver('discord')
  const state = tempDir()
  const first = await notify('discord', hook.url, state, ['--min-severity', 'high'])
  assert.equal(first.code, 0, first.stderr)
  assert.equal(hook.received.length, 1)
  const body = hook.received[0].body
  assert.equal(hook.received[0].contentType, 'application/json')
  assert.deepEqual(body.allowed_mentions, {parse: []})
  assert.ok(body.embeds.length >= 2)
  for (const embed of body.embeds) {
    assert.equal(embed.color, 0xd9362b) // high
    assert.ok(embed.fields.some((f: {name: string; value: string}) => f.name === 'Evidence' && /audit-2026-11-04\.jsonl:\d+/.test(f.value)))
  }
  assert.ok(body.embeds.some((e: {title: string}) => /Brute force/.test(e.title)))
  assert.match(first.stderr, /discord: \d+ finding\(s\) sent/)
  for (const out of [first.stdout, first.stderr]) assert.doesNotMatch(out, /SECRET/, 'the webhook URL is never printed')
  const statePath = join(state, 'auditkit', 'analyze-alerts.json')
  assert.equal(statSync(statePath).mode & 0o777, 0o600)
  assert.ok(Object.keys(JSON.parse(readFileSync(statePath, 'utf8'))).some((k) => k.startsWith('brute-force|')))

  const second = await notify('discord', hook.url, state, ['--min-severity', 'high'])
  assert.equal(second.code, 0)
  assert.equal(hook.received.length, 1, 'deduplicated')
  assert.match(second.stderr, /0 finding\(s\) sent, \d+ already sent within the window/)
})

test('Slack: Block Kit with a header and a section per finding', async () => {
  const hook = await receiver('slack')
  const result = await notify('slack', hook.url, tempDir(), ['--min-severity', 'medium'])
  assert.equal(result.code, 0, result.stderr)
  const body = hook.received[0].body
  assert.equal(typeof body.text, 'string')
  assert.equal(body.blocks[0].type, 'header')
  const sections = body.blocks.filter((b: {type: string}) => b.type === 'section')
  assert.ok(sections.length >= 5)
  assert.ok(sections.every((s: {text: {type: string}}) => s.text.type === 'mrkdwn'))
  assert.ok(body.blocks.length <= 50)
})

test('429 with Retry-After is waited out; the alert goes through', async () => {
  const hook = (await receiver('slack')).reply({status: 429, retryAfter: '1'})
  const result = await notify('slack', hook.url, tempDir())
  assert.equal(result.code, 0, result.stderr)
  assert.equal(hook.received.length, 2)
  assert.deepEqual(hook.received[0].body, hook.received[1].body)
  assert.match(result.stderr, /slack: \d+ finding\(s\) sent/)
})

test('a failing webhook is reported, the report is not lost, nothing is marked sent; exit 3 with --strict', async () => {
  const hook = (await receiver('discord')).reply({status: 500}, {status: 500})
  const state = tempDir()
  for (const strict of [false, true]) {
    const result = await notify('discord', hook.url, state, ['--json', ...(strict ? ['--strict'] : [])])
    assert.equal(result.code, strict ? 3 : 0)
    assert.ok(reportSchema.parse(JSON.parse(result.stdout)).findings.length > 0)
    assert.match(result.stderr, /alert not sent: Discord webhook: HTTP 500/)
    assert.doesNotMatch(result.stderr, /SECRET|127\.0\.0\.1/)
  }
  // Not marked sent: the next run tries again.
  const retry = await notify('discord', hook.url, state)
  assert.match(retry.stderr, /discord: \d+ finding\(s\) sent/)
})

test('--loki: query_range paged by time, nanosecond timestamps, the detectors on its lines', async () => {
  const base = Date.parse('2026-11-04T11:00:00Z')
  const lines = Array.from({length: 12}, (_, i) => ({
    ns: `${BigInt(base + i * 20_000) * 1_000_000n + 123n}`,
    line: `Nov  4 11:00:00 h sshd[1]: Failed password for root from 192.0.2.77 port 22 ssh2`,
  }))
  const loki = await new FakeLoki(lines).start()
  started.push(loki)
  const result = await runAudit(['analyze', '--loki', loki.url, '--query', '{job="sshd"}', ...RANGE, '--no-llm', '--json'])
  assert.equal(result.code, 0, result.stderr)
  const report = reportSchema.parse(JSON.parse(result.stdout))
  assert.ok(
    report.findings.some((f) => f.id === 'brute-force:ip:192.0.2.77'),
    JSON.stringify(report.findings.map((f) => f.id)),
  )
  const request = loki.requests[0]
  assert.equal(request.get('query'), '{job="sshd"}')
  assert.equal(request.get('direction'), 'forward')
  assert.match(request.get('start')!, /^\d{19}$/)
  const bad = await runAudit(['analyze', '--loki', loki.url, '--query', 'sum(rate(x[5m]))', ...RANGE, '--no-llm'])
  assert.equal(bad.code, 3)
  assert.match(bad.stderr, /Loki at http:\/\/127\.0\.0\.1:\d+ answered 400: parse error/)
})

import assert from 'node:assert/strict'
import {appendFileSync} from 'node:fs'
import {test} from 'node:test'

import {chainedLines, type EntrySpec, runAudit, tempDir, writeLog} from '../helpers.js'

const OLD: EntrySpec[] = [
  {timestamp: '2026-11-01T08:00:00.000Z', event: 'auth.login', actor: 'alice', details: {ip: '10.0.0.5'}},
  {timestamp: '2026-11-01T09:00:00.000Z', event: 'auth.fail', level: 'warning', actor: 'mallory', details: {ip: '10.0.0.66'}},
  {timestamp: '2026-11-02T08:00:00.000Z', event: 'api.request', actor: 'bob', details: {model: 'llama3'}},
  {timestamp: '2026-11-02T08:30:00.000Z', event: 'api.request', level: 'error', actor: 'bob', details: {model: 'mistral'}},
  {timestamp: '2026-11-02T09:00:00.000Z', event: 'session.end', actor: 'alice'},
]

function oldLog(): string {
  const dir = tempDir()
  const {lines, head} = chainedLines(OLD.slice(0, 2))
  writeLog(dir, 'audit-2026-11-01.jsonl', lines)
  const rest = chainedLines(OLD.slice(2), head).lines
  writeLog(dir, 'audit-2026-11-02.001.jsonl.gz', rest.slice(0, 1))
  writeLog(dir, 'audit-2026-11-02.jsonl', [...rest.slice(1), 'garbage'])
  return dir
}
const DIR = oldLog()
const json = async (...args: string[]) => {
  const r = await runAudit(['summary', '--dir', DIR, '--json', ...args])
  return {...r, report: r.stdout ? JSON.parse(r.stdout) : undefined}
}

test('--all --json: the whole report as one document', async () => {
  const {code, report, stderr} = await json('--all')
  assert.equal(code, 0)
  assert.match(stderr, /^warning: 1 malformed line, at audit-2026-11-02\.jsonl:3 /)
  assert.equal(report.total, 5)
  assert.equal(report.files.read, 3)
  assert.deepEqual(report.range.present, {first: '2026-11-01T08:00:00.000Z', last: '2026-11-02T09:00:00.000Z'})
  assert.deepEqual(report.range.selected, {since: null, until: null})
  assert.equal(report.unique_actors, 3)
  assert.equal(report.unique_ips, 2)
  assert.equal(report.failures.total, 2)
  assert.equal(report.failures.error_rate, 40)
  assert.deepEqual(report.per_day, [
    {day: '2026-11-01', count: 2},
    {day: '2026-11-02', count: 3},
  ])
  assert.deepEqual(report.peak_hour, {hour: '2026-11-02T08:00:00.000Z', count: 2})
  assert.equal(report.models.requests, 2)
  assert.equal(report.models.usage_percent, 40)
  assert.deepEqual(report.problems, {malformed: 1})
})

test('default range on a log that ended long ago: the last 24 hours of the log, said so', async () => {
  const {code, report} = await json()
  assert.equal(code, 0)
  assert.equal(report.range.default_window_moved_to_log_end, true)
  // 2026-11-01T09:00:00Z is more than 24 hours before the last entry (2026-11-02T09:00)
  assert.equal(report.total, 3)
  assert.deepEqual(report.range.present, {first: '2026-11-01T08:00:00.000Z', last: '2026-11-02T09:00:00.000Z'})
  const text = await runAudit(['summary', '--dir', DIR])
  assert.equal(text.code, 0)
  assert.match(text.stdout, /Range selected:\s+2026-11-01T09:00:00\.001Z \.\. .*last 24 hours/)
  assert.match(text.stdout, /Range in logs:\s+2026-11-01T08:00:00\.000Z \.\. 2026-11-02T09:00:00\.000Z/)
})

test('default range on a live log: the last 24 hours before now', async () => {
  const dir = tempDir()
  const now = Date.now()
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10)
  const specs = [now - 30 * 3_600_000, now - 2 * 3_600_000, now - 60_000].map((t, i) => ({
    timestamp: new Date(t).toISOString(),
    event: 'auth.login',
    actor: `u${i}`,
  }))
  const {lines} = chainedLines(specs)
  lines.forEach((line, i) => {
    writeLog(dir, `audit-${day(Date.parse(specs[i].timestamp))}.${String(i + 1).padStart(3, '0')}.jsonl`, [line])
  })
  const r = await runAudit(['summary', '--dir', dir, '--json'])
  assert.equal(r.code, 0, r.stderr)
  const report = JSON.parse(r.stdout)
  assert.equal(report.total, 2)
  assert.equal(report.range.default_window_moved_to_log_end, false)
})

test('text layout: the fixed sections of the report', async () => {
  const r = await runAudit(['summary', '--dir', DIR, '--all'])
  assert.equal(r.code, 0)
  for (const heading of [
    'Audit Summary Report',
    'Range selected:',
    'Range in logs:',
    'Files read:',
    'Total entries:',
    'Unique actors:',
    'Unique IPs:',
    'Failures:',
    'Error rate:',
    'Peak hour:',
    'Events',
    'Levels',
    'Top actors (of 3)',
    'Latest failures',
    'Model usage',
    'Per day',
    'Compliance figures',
    'Total requests:',
    'Unique users:',
    'Peak usage:',
  ]) {
    assert.ok(r.stdout.includes(heading), heading)
  }
  assert.match(r.stdout, /^ {2}api\.request\s+2\s+40\.0%$/m)
  assert.match(r.stdout, /^ {2}2026-11-02\s+3\s+#+$/m)
  assert.doesNotMatch(r.stdout, /\u001b/)
})

test('filters and explicit ranges, --from/--to aliases, --until alone', async () => {
  assert.equal((await json('--all', '--event', 'auth.*')).report.total, 2)
  assert.equal((await json('--since', '2026-11-02', '--until', '2026-11-02T08:45:00Z')).report.total, 2)
  assert.equal((await json('--from', '2026-11-02', '--to', '2026-11-02T08:45:00Z')).report.total, 2)
  const untilOnly = await json('--until', '2026-11-02T08:45:00Z')
  assert.equal(untilOnly.code, 0, untilOnly.stderr)
  assert.deepEqual(untilOnly.report.range.selected, {since: '2026-11-01T08:45:00.000Z', until: '2026-11-02T08:45:00.000Z'})
  assert.equal(untilOnly.report.total, 3)
})

test('nothing in range: exit 1, a report that says so', async () => {
  const r = await json('--since', '2027-01-01')
  assert.equal(r.code, 1)
  assert.equal(r.report.total, 0)
})

test('bad usage and missing directory: one-line errors, exit 2', async () => {
  for (const args of [
    ['--since', 'soonish'],
    ['--all', '--since', '1h'],
    ['--level', 'loud'],
    ['--top', '0'],
    ['--dir', '/nonexistent/auditkit'],
  ]) {
    const r = await runAudit(['summary', '--dir', DIR, ...args])
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.equal(r.stdout, '')
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr)
    assert.match(r.stderr, /^audit summary: error: /)
    assert.doesNotMatch(r.stderr, /\n\s+at /)
  }
})

test('a loki-mode directory is summarised through the mapping', async () => {
  const dir = tempDir()
  writeLog(dir, 'audit-2026-03-01.jsonl', [
    '{"timestamp": "2026-03-01T08:02:26.797926+00:00", "action": "cancel", "resource_type": "run", "resource_id": "run-25", "user_id": "alice", "token_id": "tok_4439", "ip_address": null, "user_agent": "curl/8.5.0", "success": true, "error": null, "details": {"source": "dashboard", "provider": "claude", "spec": "./prd.md", "model": "opus"}, "_integrity_hash": "90475672a8b7670b7beccbcbb331a89e4b8a55524bf4a6b888ca946274eb9dfc"}',
    '{"timestamp": "2026-03-01T08:12:37+00:00", "action": "login", "resource_type": "session", "resource_id": null, "user_id": "bob", "token_id": null, "ip_address": "10.0.0.4", "user_agent": null, "success": false, "error": "bad token", "details": {}, "_integrity_hash": "0616a76fc303c481d1972b92c83d3adef8eead1d62fc90e0e168adc74c93f4b3"}',
  ])
  const r = await runAudit(['summary', '--dir', dir, '--all', '--json'])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stderr, '')
  const report = JSON.parse(r.stdout)
  assert.deepEqual(report.by_event.map((e: {name: string}) => e.name).sort(), ['run.cancel', 'session.login'])
  assert.equal(report.failures.total, 1)
  assert.equal(report.unique_ips, 1)
  assert.deepEqual(
    report.models.by_model.map((m: {name: string}) => m.name),
    ['opus'],
  )
})

test('per day: empty days between the first and the last show as 0; --local groups and prints local time', async () => {
  const dir = tempDir()
  const {lines, head} = chainedLines([{timestamp: '2026-11-01T20:00:00.000Z', event: 'auth.login'}])
  writeLog(dir, 'audit-2026-11-01.jsonl', lines)
  writeLog(dir, 'audit-2026-11-03.jsonl', chainedLines([{timestamp: '2026-11-03T08:00:00.000Z', event: 'auth.login'}], head).lines)
  const utc = JSON.parse((await runAudit(['summary', '--dir', dir, '--all', '--json'])).stdout)
  assert.deepEqual(utc.per_day, [
    {day: '2026-11-01', count: 1},
    {day: '2026-11-02', count: 0},
    {day: '2026-11-03', count: 1},
  ])
  // 20:00Z on the 1st is the 2nd in Kolkata (+05:30).
  const local = await runAudit(['summary', '--dir', dir, '--all', '--json', '--local'], {env: {TZ: 'Asia/Kolkata'}})
  assert.deepEqual(JSON.parse(local.stdout).per_day, [
    {day: '2026-11-02', count: 1},
    {day: '2026-11-03', count: 1},
  ])
  const text = await runAudit(['summary', '--dir', dir, '--all', '--local', '--no-color'], {env: {TZ: 'Asia/Kolkata'}})
  assert.match(text.stdout, /Range in logs: +2026-11-02T01:30:00\.000\+05:30 \.\. 2026-11-03T13:30:00\.000\+05:30/)
  assert.match(text.stdout, /Per day \(local time\)/)
})

test('--local in a half-hour zone puts each entry on its own local day and hour', async () => {
  const dir = tempDir()
  // 18:10Z is 23:40 on the 2nd in Kolkata (+05:30); 18:45Z and 18:50Z are 00:15 and 00:20 on the 3rd.
  writeLog(
    dir,
    'audit-2026-11-02.jsonl',
    chainedLines(['18:10', '18:45', '18:50'].map((t) => ({timestamp: `2026-11-02T${t}:00.000Z`, event: 'auth.login'}))).lines,
  )
  const r = await runAudit(['summary', '--dir', dir, '--all', '--json', '--local'], {env: {TZ: 'Asia/Kolkata'}})
  const report = JSON.parse(r.stdout)
  assert.deepEqual(report.per_day, [
    {day: '2026-11-02', count: 1},
    {day: '2026-11-03', count: 2},
  ])
  // The local hour 00:00-01:00 on the 3rd starts at 18:30Z.
  assert.deepEqual(report.peak_hour, {hour: '2026-11-02T18:30:00.000Z', count: 2})
})

test('a stray far-future timestamp neither floods the histogram nor breaks the report', async () => {
  const dir = tempDir()
  const {lines, head} = chainedLines([{timestamp: '2026-11-02T10:00:00.000Z', event: 'auth.login'}])
  writeLog(dir, 'audit-2026-11-02.jsonl', [
    ...lines,
    ...chainedLines([{timestamp: '9999-11-02T10:00:01.000Z', event: 'auth.login'}], head).lines,
  ])
  const r = await runAudit(['summary', '--dir', dir, '--all', '--no-color'])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(JSON.parse((await runAudit(['summary', '--dir', dir, '--all', '--json'])).stdout).per_day.length, 2)
})

test('a 50 MB last line is passed over in bounded memory: the report is made and warns about it', async () => {
  const dir = tempDir()
  const file = writeLog(dir, 'audit-2026-11-02.jsonl', chainedLines(OLD).lines)
  appendFileSync(file, `${'x'.repeat(50 * 1024 * 1024)}\n`)
  // Reading it backwards block by block took minutes and 430 MB; a data limit leaves room for the linear way only.
  const bounded = {wrapper: ['prlimit', `--data=${200 * 1024 * 1024}`], timeoutMs: 120_000}
  // The default range (the log's last 24 hours, found reading backwards) and the whole log.
  for (const [range, total] of [
    [[], 3],
    [['--all'], 5],
  ] as const) {
    const r = await runAudit(['summary', '--dir', dir, '--no-cache', '--json', ...range], bounded)
    assert.equal(r.code, 0, r.stderr)
    assert.equal(JSON.parse(r.stdout).total, total)
    assert.equal(r.stderr, 'warning: 1 line over 1 MiB, at audit-2026-11-02.jsonl:6 (over 1048576 bytes)\n')
  }
})

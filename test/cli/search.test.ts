import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'

import {chainedLines, type EntrySpec, tempDir, writeLog} from '../helpers.js'
import {runAudit} from '../helpers.js'

const ENTRIES: EntrySpec[] = [
  {timestamp: '2026-11-01T08:00:00.000Z', event: 'auth.login', actor: 'alice', details: {ip: '10.0.0.5'}},
  {
    timestamp: '2026-11-01T09:00:00.000Z',
    event: 'auth.fail',
    level: 'warning',
    actor: 'mallory',
    details: {ip: '10.0.0.66', reason: 'bad password'},
  },
  {timestamp: '2026-11-01T10:00:00.000Z', event: 'api.request', actor: 'bob', details: {path: '/api/chat', model: 'llama3'}},
  {
    timestamp: '2026-11-02T08:00:00.000Z',
    event: 'api.request',
    level: 'error',
    actor: 'bob',
    details: {path: '/api/generate', status: 500},
  },
  {timestamp: '2026-11-02T09:00:00.000Z', event: 'auth.fail', level: 'warning', actor: '=HYPERLINK("x")', details: {ip: '10.0.0.5'}},
  {timestamp: '2026-11-02T10:00:00.000Z', event: 'session.end', actor: 'alice', details: {note: 'bye, "all"'}},
]

function fixture(): string {
  const dir = tempDir()
  const {lines, head} = chainedLines(ENTRIES.slice(0, 3))
  const rest = chainedLines(ENTRIES.slice(3), head).lines
  writeLog(dir, 'audit-2026-11-01.jsonl', lines)
  writeLog(dir, 'audit-2026-11-02.001.jsonl.gz', rest.slice(0, 2))
  writeLog(dir, 'audit-2026-11-02.jsonl', rest.slice(2))
  writeLog(dir, 'README.txt', ['not a log'])
  return dir
}
const DIR = fixture()
const search = (...args: string[]) => runAudit(['search', '--dir', DIR, ...args])
const actors = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l).actor)

/** A one-line error on stderr: the command, no stack. */
function assertOneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split('\n')
  assert.equal(lines.length, 1, stderr)
  assert.match(lines[0], /^audit search: error: /)
  assert.match(lines[0], pattern)
  assert.doesNotMatch(stderr, /\n\s+at |Error:/)
}

test('no filter: every entry in chain order across plain and gz parts, pretty, exit 0', async () => {
  const r = await search()
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stderr, '')
  const lines = r.stdout.trim().split('\n')
  assert.equal(lines.length, 6)
  assert.match(lines[0], /^2026-11-01T08:00:00\.000Z info\s+auth\.login alice ip=10\.0\.0\.5$/)
  assert.match(lines[4], /^2026-11-02T09:00:00\.000Z warning auth\.fail =HYPERLINK\("x"\) ip=10\.0\.0\.5$/)
})

test('--event glob, repeatable', async () => {
  assert.deepEqual(actors((await search('--event', 'auth.*', '--format', 'jsonl')).stdout), ['alice', 'mallory', '=HYPERLINK("x")'])
  assert.deepEqual(actors((await search('-e', 'auth.login', '-e', 'session.*', '-o', 'jsonl')).stdout), ['alice', 'alice'])
})

test('--level minimum (warn accepted), --actor repeatable', async () => {
  assert.deepEqual(actors((await search('--level', 'warn', '-o', 'jsonl')).stdout), ['mallory', 'bob', '=HYPERLINK("x")'])
  assert.deepEqual(actors((await search('--level', 'error', '-o', 'jsonl')).stdout), ['bob'])
  assert.deepEqual(actors((await search('--actor', 'alice', '--actor', 'mallory', '-o', 'jsonl')).stdout), ['alice', 'mallory', 'alice'])
})

test('--where = and ~ on any field, --grep on the raw line', async () => {
  assert.deepEqual(actors((await search('--where', 'details.ip=10.0.0.5', '-o', 'jsonl')).stdout), ['alice', '=HYPERLINK("x")'])
  assert.deepEqual(
    actors((await search('--where', 'details.path~^/api/(chat|generate)', '--where', 'details.status=500', '-o', 'jsonl')).stdout),
    ['bob'],
  )
  assert.deepEqual(actors((await search('--grep', 'bad pass', '-o', 'jsonl')).stdout), ['mallory'])
})

test('--since/--until and their aliases --from/--to; a date skips files outside it', async () => {
  const a = await search('--since', '2026-11-01T09:00:00Z', '--until', '2026-11-02T09:00:00Z', '-o', 'jsonl')
  assert.deepEqual(actors(a.stdout), ['mallory', 'bob', 'bob'])
  const b = await search('--from', '2026-11-01T09:00:00Z', '--to', '2026-11-02T09:00:00Z', '-o', 'jsonl')
  assert.equal(b.stdout, a.stdout)
  assert.deepEqual(actors((await search('--since', '2026-11-02', '-o', 'jsonl')).stdout), ['bob', '=HYPERLINK("x")', 'alice'])
  // relative to now: the fixture is in the past, or in the future, of "now"
  const recent = await search('--since', '1h')
  assert.equal(recent.code, Date.now() < Date.parse('2026-11-02T10:00:00Z') ? 0 : 1)
})

test('--limit/--offset paginate; --reverse is newest first', async () => {
  assert.deepEqual(actors((await search('--limit', '2', '-o', 'jsonl')).stdout), ['alice', 'mallory'])
  assert.deepEqual(actors((await search('--limit', '2', '--offset', '2', '-o', 'jsonl')).stdout), ['bob', 'bob'])
  assert.deepEqual(actors((await search('--offset', '5', '-o', 'jsonl')).stdout), ['alice'])
  assert.deepEqual(actors((await search('--reverse', '-o', 'jsonl')).stdout), [
    'alice',
    '=HYPERLINK("x")',
    'bob',
    'bob',
    'mallory',
    'alice',
  ])
  assert.deepEqual(actors((await search('--reverse', '--limit', '2', '-o', 'jsonl')).stdout), ['alice', '=HYPERLINK("x")'])
  assert.deepEqual(actors((await search('--reverse', '--limit', '2', '--offset', '3', '-o', 'jsonl')).stdout), ['bob', 'mallory'])
  assert.deepEqual(actors((await search('-r', '--event', 'auth.*', '-n', '1', '-o', 'jsonl')).stdout), ['=HYPERLINK("x")'])
  const past = await search('--offset', '6')
  assert.equal(past.code, 1)
  assert.equal(past.stdout, '')
})

test('--count prints only the number; 0 exits 1', async () => {
  const r = await search('--count', '--event', 'auth.*')
  assert.equal(r.code, 0)
  assert.equal(r.stdout, '3\n')
  const none = await search('--count', '--actor', 'nobody')
  assert.equal(none.code, 1)
  assert.equal(none.stdout, '0\n')
})

test('--format csv: header, quoting, formula neutralised', async () => {
  const r = await search('--format', 'csv', '--event', 'auth.fail')
  assert.equal(r.code, 0)
  const rows = r.stdout.split('\r\n')
  assert.equal(rows[0], 'timestamp,event,level,actor,details,metadata,chain_hash,file,line')
  assert.equal(rows.length, 4)
  assert.match(rows[2], /^2026-11-02T09:00:00\.000Z,auth\.fail,warning,"'=HYPERLINK\(""x""\)",/)
  assert.match(rows[2], /,audit-2026-11-02\.001\.jsonl\.gz,2$/)
})

test('--format json is one array; jsonl one entry per line; empty json is []', async () => {
  const json = await search('--format', 'json', '--actor', 'alice')
  assert.deepEqual(
    JSON.parse(json.stdout).map((e: {event: string}) => e.event),
    ['auth.login', 'session.end'],
  )
  const none = await search('--format', 'json', '--actor', 'nobody')
  assert.equal(none.code, 1)
  assert.deepEqual(JSON.parse(none.stdout), [])
  const jsonl = await search('--format', 'jsonl', '--actor', 'bob')
  const entries = jsonl.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  assert.deepEqual(entries[1], {
    timestamp: '2026-11-02T08:00:00.000Z',
    event: 'api.request',
    level: 'error',
    actor: 'bob',
    details: {path: '/api/generate', status: 500},
    metadata: {hostname: 'test', pid: 1, version: '0.0.0'},
    chain_hash: entries[1].chain_hash,
  })
})

test('nothing matched: exit 1, nothing on stderr', async () => {
  const r = await search('--event', 'nothing.*')
  assert.equal(r.code, 1)
  assert.equal(r.stdout, '')
  assert.equal(r.stderr, '')
})

test('bad usage: one-line errors with no stack, exit 2', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--since', 'bogus'], /--since: cannot read time "bogus"/],
    [['--until', '2026-02-30'], /--until/],
    [['--since', '2026-11-02', '--until', '2026-11-01'], /--since is later than --until/],
    [['--grep', '('], /--grep "\("/],
    [['--where', 'details.ip~['], /--where/],
    [['--where', 'nonsense'], /PATH=VALUE/],
    [['--level', 'loud'], /--level "loud"/],
    [['--format', 'xml'], /format/],
    [['--limit', 'x'], /limit/],
    [['--no-such-flag'], /no-such-flag/],
    // what was wrong is lost here (see the todo below); the form and the exit code still hold
    [['--count', '--reverse'], /see audit search --help/],
  ]
  for (const [args, pattern] of cases) {
    const r = await search(...args)
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.equal(r.stdout, '', args.join(' '))
    assertOneLineError(r.stderr, pattern)
  }
})

test('flag parse errors say what was wrong, not just which flag', async () => {
  const limit = await search('--limit', 'x')
  assert.match(limit.stderr, /integer/i)
  const exclusive = await search('--count', '--reverse')
  assert.match(exclusive.stderr, /--reverse|cannot also be provided/)
})

test('DEBUG set to anything keeps the exit codes (it only adds the stack)', async () => {
  const r = await runAudit(['search', '--dir', join(DIR, 'nope')], {env: {DEBUG: 'express:*'}})
  assert.equal(r.code, 2, r.stderr)
  assert.match(r.stderr, /audit search: error: .*no such directory/)
})

test('missing or unreadable directory: one-line error, exit 2', async () => {
  const r = await runAudit(['search', '--dir', join(DIR, 'nope')])
  assert.equal(r.code, 2)
  assert.equal(r.stdout, '')
  assert.equal(r.stderr, `audit search: error: ${join(DIR, 'nope')}: no such directory\n`)
  const file = await runAudit(['search', '--dir', join(DIR, 'README.txt')])
  assert.equal(file.code, 2)
  assertOneLineError(file.stderr, /not a directory/)
})

test('the directory comes from AUDIT_DIR, LOKI_AUDIT_DIR or a config file', async () => {
  assert.equal((await runAudit(['search', '--count'], {env: {AUDIT_DIR: DIR}})).stdout, '6\n')
  assert.equal((await runAudit(['search', '--count'], {env: {LOKI_AUDIT_DIR: DIR}})).stdout, '6\n')
  const cfg = join(tempDir(), 'c.yaml')
  writeFileSync(cfg, `dir: ${JSON.stringify(DIR)}\n`)
  assert.equal((await runAudit(['search', '--count', '--config', cfg])).stdout, '6\n')
  const bad = join(tempDir(), 'bad.yaml')
  writeFileSync(bad, 'colour: red\n')
  const r = await runAudit(['search', '--count', '--config', bad, '--dir', DIR])
  assert.equal(r.code, 2)
  assertOneLineError(r.stderr, new RegExp(`${bad.replaceAll('/', '\\/')}.*unknown key "colour"`))
})

test('bad lines are warned about on stderr and the search goes on', async () => {
  const dir = tempDir()
  const {lines} = chainedLines(ENTRIES.slice(0, 3))
  writeLog(dir, 'audit-2026-11-01.jsonl', [lines[0], '{oops', lines[1], '[1]', lines[2], '{"bad":"entry"}', '{oops'])
  const r = await runAudit(['search', '--dir', dir, '-o', 'jsonl'])
  assert.equal(r.code, 0)
  assert.equal(actors(r.stdout).length, 3)
  const warnings = r.stderr.trim().split('\n')
  assert.equal(warnings.length, 3, r.stderr)
  assert.ok(warnings.some((w) => w.startsWith('warning: 2 malformed lines, first at audit-2026-11-01.jsonl:2 ')))
  assert.ok(warnings.some((w) => w.startsWith('warning: 1 line that is not a JSON object, at audit-2026-11-01.jsonl:4 ')))
})

test('a truncated gz part is named in a warning, its earlier entries are found', async () => {
  const dir = tempDir()
  const {lines} = chainedLines(
    Array.from({length: 3000}, (_, i) => ({
      timestamp: new Date(Date.parse('2026-11-01T00:00:00Z') + i * 1000).toISOString(),
      event: 'api.request',
      actor: `u${i}`,
    })),
  )
  const gz = writeLog(dir, 'audit-2026-11-01.001.jsonl.gz', lines)
  const {readFileSync} = await import('node:fs')
  const bytes = readFileSync(gz)
  writeFileSync(gz, bytes.subarray(0, Math.floor(bytes.length / 2)))
  const r = await runAudit(['search', '--dir', dir, '--count'])
  assert.equal(r.code, 0)
  const n = Number(r.stdout)
  assert.ok(n > 500 && n < 3000, r.stdout)
  assert.match(r.stderr, /^warning: 1 truncated or corrupt gzip file, at audit-2026-11-01\.001\.jsonl\.gz/)
})

test('a loki-mode directory is searched through the mapping', async () => {
  const dir = tempDir()
  writeLog(dir, 'audit-2026-03-01.jsonl', [
    '{"timestamp": "2026-03-01T08:02:26.797926+00:00", "action": "cancel", "resource_type": "run", "resource_id": "run-25", "user_id": "alice", "token_id": "tok_4439", "ip_address": null, "user_agent": "curl/8.5.0", "success": true, "error": null, "details": {"source": "dashboard", "provider": "claude", "spec": "./prd.md", "model": "opus"}, "_integrity_hash": "90475672a8b7670b7beccbcbb331a89e4b8a55524bf4a6b888ca946274eb9dfc"}',
    '{"timestamp": "2026-03-01T08:04:58.754409+00:00", "action": "stop", "resource_type": "session", "resource_id": "session-30", "user_id": null, "token_id": null, "ip_address": "127.0.0.1", "user_agent": null, "success": true, "error": null, "details": {"cost": 4.25}, "_integrity_hash": "f612c625739396d8f5855baa62d9c91d47a2524e76c4adc13c328bdcd5174ff1"}',
    '{"timestamp": "2026-03-01T08:12:37+00:00", "action": "login", "resource_type": "session", "resource_id": null, "user_id": "bob", "token_id": null, "ip_address": "10.0.0.4", "user_agent": null, "success": false, "error": "bad token", "details": {}, "_integrity_hash": "0616a76fc303c481d1972b92c83d3adef8eead1d62fc90e0e168adc74c93f4b3"}',
  ])
  const all = await runAudit(['search', '--dir', dir, '-o', 'jsonl'])
  assert.equal(all.code, 0, all.stderr)
  assert.equal(all.stderr, '')
  const entries = all.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  assert.deepEqual(
    entries.map((e) => [e.event, e.level, e.actor]),
    [
      ['run.cancel', 'info', 'alice'],
      ['session.stop', 'warning', 'anonymous'],
      ['session.login', 'error', 'bob'],
    ],
  )
  assert.equal((await runAudit(['search', '--dir', dir, '--event', 'session.*', '--level', 'warning', '--count'])).stdout, '2\n')
  assert.equal((await runAudit(['search', '--dir', dir, '--where', 'details.error=bad token', '--count'])).stdout, '1\n')
  assert.equal(
    (await runAudit(['search', '--dir', dir, '--since', '2026-03-01T08:04:00Z', '--until', '2026-03-01T08:10:00Z', '--count'])).stdout,
    '1\n',
  )
  const pretty = await runAudit(['search', '--dir', dir, '--actor', 'bob'])
  assert.equal(pretty.stdout, '2026-03-01T08:12:37+00:00 error   session.login bob ip_address=10.0.0.4 error="bad token"\n')
})

test('output is never a terminal attack: escapes in the log are stripped in pretty output', async () => {
  const dir = tempDir()
  writeLog(
    dir,
    'audit-2026-11-01.jsonl',
    chainedLines([
      {timestamp: '2026-11-01T08:00:00.000Z', event: 'auth.login', actor: 'eve\u001b]0;owned\u0007\u001b[2J', details: {msg: 'x\u202ey'}},
    ]).lines,
  )
  const r = await runAudit(['search', '--dir', dir])
  assert.equal(r.code, 0)
  assert.doesNotMatch(r.stdout, /[\u001b\u0007\u202e]/)
})

/** `{"a":{"a":…1…}}` nested `depth` levels: JSON.parse takes it, a recursive writer overflows its stack. */
const nestingBomb = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`

test('a nesting bomb in details (native and loki-mode) is shown depth-limited in every format, never a crash', async () => {
  const dir = tempDir()
  const good = chainedLines([{timestamp: '2026-11-01T08:00:00.000Z', event: 'auth.login', actor: 'alice'}]).lines[0]
  // The attacker writes the line by hand: no writer would accept such details.
  const bomb = good.replace('"details":{}', `"details":{"deep":${nestingBomb(5000)}}`).replace('"actor":"alice"', '"actor":"mallory"')
  writeLog(dir, 'audit-2026-11-01.jsonl', [good, bomb])
  writeLog(dir, 'audit-2026-11-02.jsonl', [
    `{"timestamp":"2026-11-02T08:00:00+00:00","action":"read","resource_type":"run","user_id":"lokibomb","details":{"deep":${nestingBomb(5000)}}}`,
  ])
  for (const format of ['pretty', 'json', 'jsonl', 'csv']) {
    const r = await runAudit(['search', '--dir', dir, '--format', format])
    assert.equal(r.code, 0, `${format}: ${r.stderr}`)
    assert.doesNotMatch(r.stderr, /internal error|call stack/, format)
    assert.match(r.stdout, /mallory/, format)
    assert.match(r.stdout, /lokibomb/, format)
    assert.match(r.stdout, /nested deeper than 64 levels/, format)
    if (format === 'json') assert.equal(JSON.parse(r.stdout).length, 3)
    if (format === 'jsonl')
      assert.deepEqual(
        r.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l).actor),
        ['alice', 'mallory', 'lokibomb'],
      )
  }
  // A --where on the deep value reads it too.
  const where = await runAudit(['search', '--dir', dir, '--where', 'details.deep~nested', '--count'])
  assert.equal(where.stdout, '2\n', where.stderr)
})

test('invisible format characters are escaped visibly in pretty and csv, and as JSON escapes in json', async () => {
  const dir = tempDir()
  writeLog(
    dir,
    'audit-2026-11-01.jsonl',
    chainedLines([
      {timestamp: '2026-11-01T08:00:00.000Z', event: 'auth.login', actor: 'admin'},
      {timestamp: '2026-11-01T08:01:00.000Z', event: 'auth.login', actor: 'ad\u200bmin\ufeff', details: {who: 'x\u2060y\u00adz'}},
    ]).lines,
  )
  const pretty = await runAudit(['search', '--dir', dir])
  assert.equal(pretty.code, 0, pretty.stderr)
  assert.deepEqual(
    pretty.stdout
      .trim()
      .split('\n')
      .map((l) => l.replace(/^\S+ +\S+ +\S+ /, '')),
    ['admin', 'ad\\u200bmin\\ufeff who=x\\u2060y\\u00adz'],
  )
  const csv = await runAudit(['search', '--dir', dir, '--format', 'csv'])
  assert.match(csv.stdout, /,ad\\u200bmin\\ufeff,/)
  const jsonl = await runAudit(['search', '--dir', dir, '--format', 'jsonl'])
  assert.doesNotMatch(jsonl.stdout, /[\u200b\ufeff\u2060\u00ad]/)
  assert.deepEqual(
    jsonl.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).actor),
    ['admin', 'ad\u200bmin\ufeff'],
  )
})

test('a complete fake entry as an unterminated last line is not a match: search, summary and tail leave it out, search warns', async () => {
  const dir = tempDir()
  const {lines} = chainedLines([{timestamp: '2026-11-02T08:00:00.000Z', event: 'auth.login', actor: 'alice'}])
  const fake = JSON.stringify({
    timestamp: '2026-11-02T09:00:00.000Z',
    event: 'auth.login',
    level: 'info',
    actor: 'admin-FAKE',
    details: {},
    metadata: {},
    chain_hash: '0'.repeat(64),
  })
  writeFileSync(join(dir, 'audit-2026-11-02.jsonl'), `${lines[0]}\n${fake}`)
  const found = await runAudit(['search', '--dir', dir, '--actor', 'admin-FAKE'])
  assert.equal(found.code, 1)
  assert.equal(found.stdout, '')
  assert.equal(
    found.stderr,
    `warning: 1 unterminated last line, at audit-2026-11-02.jsonl:2 (${fake.length} bytes without a final newline)\n`,
  )
  assert.equal((await runAudit(['search', '--dir', dir, '--count'])).stdout, '1\n')
  const summary = await runAudit(['summary', '--dir', dir, '--all', '--json', '--no-cache'])
  assert.equal(JSON.parse(summary.stdout).total, 1)
  assert.doesNotMatch(summary.stdout, /admin-FAKE/)
  const tail = await runAudit(['tail', '--dir', dir])
  assert.doesNotMatch(tail.stdout, /admin-FAKE/)
  assert.match(tail.stdout, /alice/)
})

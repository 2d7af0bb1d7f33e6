import assert from 'node:assert/strict'
import {existsSync, linkSync, readdirSync, readFileSync, statSync, symlinkSync, truncateSync, unlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {chainedLines, inParallel, runAudit, tempDir, writeLog} from '../helpers.js'
import {checkChain} from '../unit/writer-support.js'

const logFiles = (dir: string) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((n) => n.startsWith('audit-'))
        .sort()
    : []
const entriesIn = (dir: string) =>
  logFiles(dir).flatMap((n) =>
    readFileSync(join(dir, n), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l)),
  )

describe('audit log', () => {
  it('appends one chained entry, silently; --json prints it; details from pairs, JSON, a file and stdin', async () => {
    const dir = join(tempDir(), 'logs')
    const r1 = await runAudit([
      'log',
      'auth.fail',
      '--dir',
      dir,
      '--actor',
      'bob',
      '--level',
      'warn',
      '--detail',
      'ip=10.0.0.5',
      '--detail',
      'note=a=b',
    ])
    assert.deepEqual([r1.code, r1.stdout, r1.stderr], [0, '', ''])
    const r2 = await runAudit([
      'log',
      'deploy.finish',
      '--dir',
      dir,
      '--json',
      '--details-json',
      '{"version":"1.4.2","ok":true}',
      '--detail',
      'ok=yes',
    ])
    assert.equal(r2.code, 0, r2.stderr)
    const printed = JSON.parse(r2.stdout)
    assert.deepEqual(printed.details, {version: '1.4.2', ok: 'yes'})
    const file = join(tempDir(), 'd.json')
    writeFileSync(file, '{"files": 3}')
    assert.equal((await runAudit(['log', 'backup.done', '--dir', dir, '--details-file', file])).code, 0)
    assert.equal((await runAudit(['log', 'backup.verify', '-', '--dir', dir], {input: '{"from": "stdin"}'})).code, 0)
    const fromFileDash = await runAudit(['log', 'backup.prune', '--details-file', '-', '--dir', dir], {input: '{"via": "details-file -"}'})
    assert.deepEqual([fromFileDash.code, fromFileDash.stderr], [0, ''])

    const entries = entriesIn(dir)
    assert.deepEqual(
      entries.map((e) => [e.event, e.level, e.actor === 'bob', e.details]),
      [
        ['auth.fail', 'warning', true, {ip: '10.0.0.5', note: 'a=b'}],
        ['deploy.finish', 'info', false, {version: '1.4.2', ok: 'yes'}],
        ['backup.done', 'info', false, {files: 3}],
        ['backup.verify', 'info', false, {from: 'stdin'}],
        ['backup.prune', 'info', false, {via: 'details-file -'}],
      ],
    )
    assert.deepEqual(printed, entries[1])
    assert.deepEqual((await checkChain(dir)).problems, [])
    assert.equal(statSync(dir).mode & 0o777, 0o700)
    for (const n of logFiles(dir)) assert.equal(statSync(join(dir, n)).mode & 0o777, 0o600)
  })

  it('each bad input: exit 2, one line naming the problem, nothing written', async () => {
    const dir = tempDir()
    const cases: Array<[string[], RegExp, string?]> = [
      [['log'], /missing EVENT/],
      [['log', 'Auth.Fail'], /event "Auth.Fail": expected category.action/],
      [['log', 'nodot'], /event "nodot"/],
      [['log', 'a.b', '--level', 'loud'], /level "loud"/],
      [['log', 'a.b', '--detail', 'novalue'], /--detail "novalue": expected KEY=VALUE/],
      [['log', 'a.b', '--detail', '=x'], /--detail "=x"/],
      [['log', 'a.b', '--details-json', '{bad'], /--details-json: not JSON/],
      [['log', 'a.b', '--details-json', '[1,2]'], /--details-json: expected a JSON object/],
      [['log', 'a.b', '--details-file', '/nonexistent/details.json'], /--details-file \/nonexistent\/details.json: no such file/],
      // A forged retention record would let verify accept the deletion of old files.
      [['log', 'audit.retention', '--details-json', '{"removed":[]}'], /"audit\." category is reserved/],
      [['log', 'audit.recovery'], /reserved/],
      [['log', 'a.b', '-'], /standard input: not JSON/, 'not json'],
      [['log', 'a.b', '-'], /standard input: expected a JSON object/, '"text"'],
      [['log', 'a.b', 'extra'], /unexpected argument "extra"/],
      [['log', 'a.b', '-', '--details-json', '{}'], /give the details JSON one way only/, '{}'],
      [['log', 'a.b', '--details-json', '{}', '--details-file', 'x'], /give the details JSON one way only/],
      [['log', 'a.b', '-'], /readers accept at most/, `{"big":"${'x'.repeat(1024 * 1024)}"}`],
      [['log', '--prune'], /--prune: retention_days is 0/],
      [['log', 'a.b', '--bogus'], /Nonexistent flag: --bogus/],
      [['log', 'a.b', '--details-json', '{"id":12345678901234567890}'], /--details-json: details.id: an integer beyond 2\^53 loses digits/],
      [['log', 'a.b', '-'], /standard input: details(\.a)+: nested deeper than 64 levels/, `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`],
    ]
    // Each is refused before the directory is touched, so they can run side by side.
    const results = await inParallel(cases, ([args, , input]) => runAudit([...args, '--dir', dir], {input}))
    for (const [i, [args, message]] of cases.entries()) {
      const r = results[i]
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, message)
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`)
      assert.doesNotMatch(r.stderr, /\n\s+at /)
      assert.equal(r.stdout, '')
    }
    assert.deepEqual(logFiles(dir), [])
    // Refused before the directory is touched: not created, and a torn line in it not yet repaired.
    const absent = join(dir, 'absent')
    assert.equal((await runAudit(['log', 'Bad.Event', '--dir', absent])).code, 2)
    assert.equal(existsSync(absent), false)
    const torn = join(tempDir(), 'torn')
    assert.equal((await runAudit(['log', 'a.b', '--dir', torn])).code, 0)
    const [live] = logFiles(torn)
    truncateSync(join(torn, live), statSync(join(torn, live)).size - 20)
    const before = readFileSync(join(torn, live))
    assert.equal((await runAudit(['log', 'a.b', '--level', 'loud', '--dir', torn])).code, 2)
    assert.deepEqual(logFiles(torn), [live])
    assert.deepEqual(readFileSync(join(torn, live)), before)

    const badConfig = await runAudit(['log', 'a.b', '--dir', dir], {env: {AUDIT_LEVEL: 'loud'}})
    assert.equal(badConfig.code, 2)
    assert.match(badConfig.stderr, /AUDIT_LEVEL/)
    assert.deepEqual(logFiles(dir), [])
  })

  it('refuses a directory whose newest file is a loki-mode log (exit 2, the file untouched), with integrity on or off', async () => {
    const dir = tempDir()
    const loki =
      '{"timestamp": "2026-03-01T08:12:37+00:00", "action": "login", "resource_type": "session", "resource_id": null, "user_id": "bob", "token_id": null, "ip_address": "10.0.0.4", "user_agent": null, "success": false, "error": "bad token", "details": {}, "_integrity_hash": "0616a76fc303c481d1972b92c83d3adef8eead1d62fc90e0e168adc74c93f4b3"}'
    const path = writeLog(dir, 'audit-2026-03-01.jsonl', [loki])
    for (const env of [{}, {AUDIT_NO_INTEGRITY: '1'}] as Record<string, string>[]) {
      const r = await runAudit(['log', 'a.b', '--dir', dir], {env})
      assert.equal(r.code, 2, r.stderr)
      assert.match(r.stderr, /audit-2026-03-01\.jsonl is a loki-mode log; auditkit writes native logs, into a directory of their own/)
      assert.equal(r.stderr.trim().split('\n').length, 1)
    }
    assert.deepEqual(logFiles(dir), ['audit-2026-03-01.jsonl'])
    assert.equal(readFileSync(path, 'utf8'), `${loki}\n`)
  })

  it("never appends through a symbolic link planted under the live file's name (exit 2, the target untouched)", async () => {
    const dir = tempDir()
    const target = join(tempDir(), 'target')
    writeFileSync(target, 'precious\n')
    assert.equal((await runAudit(['log', 'a.b', '--dir', dir])).code, 0)
    const [live] = logFiles(dir)
    unlinkSync(join(dir, live))
    symlinkSync(target, join(dir, live))
    const r = await runAudit(['log', 'a.c', '--dir', dir])
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /: a symbolic link where a file was expected \(not followed\)/)
    assert.equal(readFileSync(target, 'utf8'), 'precious\n')
  })

  it('an event name over 128 characters is refused (exit 2, without echoing it), 128 is written', async () => {
    const dir = tempDir()
    const [long, justOver] = await Promise.all([
      runAudit(['log', `a.${'b'.repeat(4998)}`, '--dir', dir]),
      runAudit(['log', `a.${'b'.repeat(127)}`, '--dir', dir]),
    ])
    assert.equal(long.code, 2)
    assert.equal(long.stderr, 'audit log: error: event: 5000 characters; an event name has at most 128\n')
    assert.equal(justOver.code, 2)
    assert.deepEqual(logFiles(dir), [])
    const max = `a.${'b'.repeat(126)}`
    assert.equal((await runAudit(['log', max, '--dir', dir])).code, 0)
    assert.deepEqual(
      entriesIn(dir).map((e) => e.event),
      [max],
    )
  })

  it("never appends through a hard link: a newest file with another name is refused (exit 2, the other name's file untouched)", async () => {
    const dir = tempDir()
    assert.equal((await runAudit(['log', 'a.b', '--dir', dir])).code, 0)
    const [live] = logFiles(dir)
    // The attacker links the live file to a file of theirs elsewhere: appends would land there too.
    const other = join(tempDir(), 'mine.jsonl')
    linkSync(join(dir, live), other)
    const before = readFileSync(other, 'utf8')
    const r = await runAudit(['log', 'a.c', '--dir', dir])
    assert.equal(r.code, 2, r.stderr)
    assert.match(
      r.stderr,
      /^audit log: error: .*audit-\d{4}-\d{2}-\d{2}\.jsonl: a file with another name \(a hard link\): not appended to\n$/,
    )
    assert.equal(readFileSync(other, 'utf8'), before)
    unlinkSync(other)
    assert.equal((await runAudit(['log', 'a.d', '--dir', dir])).code, 0)
    assert.deepEqual(
      entriesIn(dir).map((e) => e.event),
      ['a.b', 'a.d'],
    )
  })

  it('details from an endless source (--details-file /dev/zero, stdin from /dev/zero) are refused after the limit, in bounded memory', async () => {
    const dir = tempDir()
    // Reading it whole took 10 GB in 30 s; under a data limit that would end in a crash, not exit 2.
    const bounded = ['prlimit', `--data=${300 * 1024 * 1024}`]
    const [file, stdin] = await Promise.all([
      runAudit(['log', 'a.b', '--dir', dir, '--details-file', '/dev/zero'], {wrapper: bounded}),
      // Through a pipe from cat, so the (empty) input runAudit writes still has a reader.
      runAudit(['log', 'a.b', '-', '--dir', dir], {wrapper: ['sh', '-c', 'cat /dev/zero | "$@"', 'sh', ...bounded]}),
    ])
    assert.equal(file.code, 2, file.stderr)
    assert.equal(file.stderr, 'audit log: error: --details-file /dev/zero: over 1048576 bytes; readers accept at most 1048576 per entry\n')
    assert.equal(stdin.code, 2, stdin.stderr)
    assert.equal(stdin.stderr, 'audit log: error: standard input: over 1048576 bytes; readers accept at most 1048576 per entry\n')
    assert.deepEqual(logFiles(dir), [])
  })

  it('storage that refuses the write (a file size limit, as a full disk) exits 3 with one line; the next writer recovers', async () => {
    const dir = tempDir()
    assert.equal((await runAudit(['log', 'a.b', '--dir', dir])).code, 0)
    const [live] = logFiles(dir)
    const limit = statSync(join(dir, live)).size + 100
    const r = await runAudit(['log', 'a.b', '--dir', dir, '--detail', `x=${'y'.repeat(300)}`], {wrapper: ['prlimit', `--fsize=${limit}`]})
    assert.equal(r.code, 3, r.stderr)
    assert.equal(r.stderr, 'audit log: error: file too large (a file size limit)\n')
    assert.equal((await runAudit(['log', 'a.c', '--dir', dir])).code, 0)
    const check = await checkChain(dir)
    assert.deepEqual(check.problems, [])
    assert.equal(check.recorded, 1)
  })

  it("a log directory that cannot be made: exit 2, one line naming it (under /proc too, where Node's own mkdir -p spins)", async () => {
    const dir = tempDir()
    const file = join(dir, 'plain-file')
    writeFileSync(file, '')
    const cases: Array<[string, RegExp]> = [
      [file, /plain-file: not a directory/],
      [join(file, 'sub'), /plain-file\/sub: not a directory/],
      ['/proc/auditkit-test/logs', /\/proc\/auditkit-test: no such file/],
    ]
    const results = await inParallel(cases, ([logDir]) => runAudit(['log', 'a.b', '--dir', logDir]))
    for (const [i, [logDir, message]] of cases.entries()) {
      const r = results[i]
      assert.equal(r.code, 2, `${logDir}: ${r.stderr}`)
      assert.match(r.stderr, message)
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`)
    }
    const made = join(dir, 'a', 'b')
    assert.equal((await runAudit(['log', 'a.b', '--dir', made])).code, 0)
    assert.equal(statSync(join(dir, 'a')).mode & 0o777, 0o700)
    assert.equal(statSync(made).mode & 0o777, 0o700)
  })

  it('follows configuration: AUDIT_LEVEL drops, AUDIT_DISABLED writes nothing, AUDIT_NO_INTEGRITY writes unchained, a config file sets metadata and size', async () => {
    const dir = tempDir()
    assert.equal((await runAudit(['log', 'a.debug', '--level', 'debug', '--dir', dir], {env: {AUDIT_LEVEL: 'info'}})).code, 0)
    assert.equal((await runAudit(['log', 'a.off', '--dir', dir], {env: {AUDIT_DISABLED: '1'}})).code, 0)
    assert.deepEqual(logFiles(dir), [])
    assert.equal((await runAudit(['log', 'a.plain', '--dir', dir], {env: {LOKI_AUDIT_NO_INTEGRITY: '1'}})).code, 0)
    const config = join(tempDir(), 'config.yaml')
    writeFileSync(config, 'metadata: {env: prod}\ninclude_metadata: true\n')
    assert.equal((await runAudit(['log', 'a.meta', '--dir', dir, '--config', config])).code, 0)
    const [plain, meta] = entriesIn(dir)
    assert.equal(plain.chain_hash, undefined)
    assert.equal(meta.metadata.env, 'prod')
    assert.equal(meta.chain_hash.length, 64)
  })

  it('--prune records and removes old files; a write on a new day rotates (test-only clock offset)', async () => {
    const dir = tempDir()
    const old = chainedLines([{timestamp: '2020-01-01T08:00:00.000Z', event: 'a.b'}])
    writeLog(dir, 'audit-2020-01-01.jsonl', old.lines)
    const next = chainedLines([{timestamp: '2020-01-02T08:00:00.000Z', event: 'a.c'}], old.head)
    writeLog(dir, 'audit-2020-01-02.jsonl', next.lines)
    const today = () => `audit-${new Date().toISOString().slice(0, 10)}.jsonl`
    const before = today()
    const r = await runAudit(['log', '--prune', '--retention-days', '30', '--json', '--dir', dir])
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout)
    assert.deepEqual(
      out.removed.map((f: {file: string}) => f.file),
      ['audit-2020-01-01.jsonl'],
    )
    assert.equal(out.entry, null)
    // Writing the event opened today's file (by the clock before or after the run, which may cross
    // midnight): a rotation, at which retention runs again and removes 2020-01-02 as well, now that
    // it no longer holds the head.
    const files = logFiles(dir)
    assert.equal(files.length, 1, files.join(' '))
    assert.ok([before, today()].includes(files[0]), files[0])
    const events = entriesIn(dir)
    assert.deepEqual(
      events.map((e) => [e.event, e.details.removed.map((f: {file: string}) => f.file)]),
      [
        ['audit.retention', ['audit-2020-01-01.jsonl']],
        ['audit.retention', ['audit-2020-01-02.jsonl']],
      ],
    )
    assert.equal(events[0].details.removed[0].last_hash, old.head)
    assert.deepEqual((await checkChain(dir, next.head)).problems, [])

    const day = 86_400_000
    assert.equal((await runAudit(['log', 'x.today', '--dir', dir])).code, 0)
    assert.equal((await runAudit(['log', 'x.tomorrow', '--dir', dir], {env: {AUDIT_TEST_NOW_OFFSET_MS: String(day)}})).code, 0)
    const names = logFiles(dir)
    assert.equal(names.length, 2, String(names))
    assert.equal(names[0], files[0])
    assert.equal(statSync(join(dir, files[0])).mode & 0o777, 0o400, 'the previous day is closed')
    assert.deepEqual((await checkChain(dir, next.head)).problems, [])
  })
})

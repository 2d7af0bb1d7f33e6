import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {appendFileSync, existsSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync} from 'node:fs'
import {createServer, type AddressInfo} from 'node:net'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {gzipSync} from 'node:zlib'

import {parse as parseCsv} from 'csv-parse/sync'

import {chainedLines, type EntrySpec, inParallel, runAudit, tempDir, writeLog} from '../helpers.js'

const DAY1 = '2026-11-01'
const DAY2 = '2026-11-02'

function spec(n: number, day: string, extra: Partial<EntrySpec> = {}): EntrySpec[] {
  return Array.from({length: n}, (_, i) => ({
    timestamp: `${day}T10:00:${String(i).padStart(2, '0')}.000Z`,
    event: i % 2 ? 'auth.fail' : 'api.request',
    level: i % 2 ? 'warning' : 'info',
    actor: `user${i}`,
    details: {ip: `10.0.0.${i + 1}`, n: i},
    ...extra,
  }))
}

/** A two-day log: 3 entries on DAY1, 2 on DAY2; returns the dir and the chain head. */
function makeLog(): {dir: string; head: string} {
  const dir = tempDir()
  const one = chainedLines(spec(3, DAY1))
  writeLog(dir, `audit-${DAY1}.jsonl`, one.lines)
  const two = chainedLines(spec(2, DAY2), one.head)
  writeLog(dir, `audit-${DAY2}.jsonl`, two.lines)
  return {dir, head: two.head}
}

function appendEntries(dir: string, name: string, entries: EntrySpec[], prev: string): string {
  const next = chainedLines(entries, prev)
  appendFileSync(join(dir, name), `${next.lines.join('\n')}\n`)
  return next.head
}

const lines = (text: string) => text.split('\n').filter((l) => l !== '')

describe('audit export', () => {
  it('every export format runs on a real log; jsonl is the default and round-trips the entries', async () => {
    const {dir} = makeLog()
    const r = await runAudit(['export', '--dir', dir])
    assert.equal(r.code, 0, r.stderr)
    const entries = lines(r.stdout).map((l) => JSON.parse(l))
    assert.deepEqual(
      entries.map((e) => e.actor),
      ['user0', 'user1', 'user2', 'user0', 'user1'],
    )
    // --all names the default, as in search; it cannot be given with a range.
    const all = await runAudit(['export', '--dir', dir, '--all'])
    assert.equal(all.code, 0, all.stderr)
    assert.equal(all.stdout, r.stdout)
    for (const range of [
      ['--since', '1d'],
      ['--until', 'now'],
      ['--since-last', join(dir, 'state')],
    ]) {
      const ranged = await runAudit(['export', '--dir', dir, '--all', ...range])
      assert.equal(ranged.code, 2, range[0])
      assert.match(ranged.stderr, new RegExp(`${range[0]}=\\S+ cannot also be provided when using --all`))
    }
    const formats = ['json', 'csv', 'cef', 'leef', 'ecs', 'ecs-bulk', 'ocsf', 'splunk-hec', 'loki', 'syslog', 'rfc5424', 'rfc3164']
    const outs = await inParallel(formats, (format) => runAudit(['export', '--dir', dir, '--format', format, '--event', 'auth.*']))
    for (const [i, format] of formats.entries()) {
      const out = outs[i]
      assert.equal(out.code, 0, `${format}: ${out.stderr}`)
      assert.equal(out.stderr, '', format)
      const expected = format === 'json' ? 4 : format === 'csv' ? 3 : format === 'ecs-bulk' ? 4 : 2
      assert.equal(lines(out.stdout).length, expected, `${format}: ${out.stdout}`)
    }
  })

  it('csv is the fixed export column list, parsed back by csv-parse', async () => {
    const {dir} = makeLog()
    const r = await runAudit(['export', '--dir', dir, '--format', 'csv', '--actor', 'user1'])
    const rows = parseCsv(r.stdout) as string[][]
    assert.deepEqual(rows[0], ['timestamp', 'event', 'level', 'actor', 'details', 'host', 'chain_hash'])
    assert.equal(rows.length, 3)
    assert.deepEqual(JSON.parse(rows[1][4]), {ip: '10.0.0.2', n: 1})
    assert.equal(rows[1][5], 'test')
  })

  it('--fields / --exclude-fields project JSON-shaped documents; refused for a text format', async () => {
    const {dir} = makeLog()
    const ecs = await runAudit([
      'export',
      '--dir',
      dir,
      '--format',
      'ecs',
      '--fields',
      '@timestamp,user.name',
      '--fields',
      'event.action',
      '--level',
      'warning',
    ])
    assert.deepEqual(
      lines(ecs.stdout).map((l) => JSON.parse(l)),
      [
        {'@timestamp': `${DAY1}T10:00:01.000Z`, user: {name: 'user1'}, event: {action: 'auth.fail'}},
        {'@timestamp': `${DAY2}T10:00:01.000Z`, user: {name: 'user1'}, event: {action: 'auth.fail'}},
      ],
    )
    const bulk = await runAudit(['export', '--dir', dir, '--format', 'ecs-bulk', '--exclude-fields', 'auditkit', '--actor', 'user2'])
    const [action, doc] = lines(bulk.stdout).map((l) => JSON.parse(l))
    assert.equal(action.create._id.length, 64)
    assert.equal(doc.auditkit, undefined)
    assert.equal(doc.user.name, 'user2')
    const cef = await runAudit(['export', '--dir', dir, '--format', 'cef', '--fields', 'actor'])
    assert.equal(cef.code, 2)
    assert.match(cef.stderr, /^audit export: error: --fields and --exclude-fields apply to the JSON-shaped formats .*not cef\n$/)
  })

  it('--format-option sets codec options; a bad one names the format and the option', async () => {
    const {dir} = makeLog()
    const ok = await runAudit([
      'export',
      '--dir',
      dir,
      '--format',
      'cef',
      '--format-option',
      'vendor=Acme',
      '--format-option',
      'product=Trail',
      '--actor',
      'user0',
    ])
    assert.match(ok.stdout, /^CEF:0\|Acme\|Trail\|1\|api\.request\|/)
    const bad = await runAudit(['export', '--dir', dir, '--format', 'cef', '--format-option', 'colour=red'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /format cef, --format-option/)
    const malformed = await runAudit(['export', '--dir', dir, '--format-option', 'novalue'])
    assert.match(malformed.stderr, /--format-option "novalue": expected KEY=VALUE/)
  })

  it('--output writes the file atomically with mode 0600; an unwritable place is exit 2 and leaves nothing', async () => {
    const {dir} = makeLog()
    const out = join(tempDir(), 'audit.cef')
    const r = await runAudit(['export', '--dir', dir, '--format', 'cef', '--output', out])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, '')
    assert.equal(statSync(out).mode & 0o777, 0o600)
    assert.equal(lines(readFileSync(out, 'utf8')).length, 5)
    const nowhere = await runAudit(['export', '--dir', dir, '--output', join(tempDir(), 'missing', 'x.jsonl')])
    assert.equal(nowhere.code, 2)
    assert.match(nowhere.stderr, /^audit export: error: .*missing\/x\.jsonl: /)
  })

  it('a full disk is exit 3 with one line and no partial file', async () => {
    const {dir} = makeLog()
    const target = join(tempDir(), 'big.jsonl')
    const r = await runAudit(['export', '--dir', dir, '--output', target], {wrapper: ['prlimit', '--fsize=200']})
    assert.equal(r.code, 3, r.stderr)
    assert.equal(lines(r.stderr).length, 1)
    assert.equal(existsSync(target), false)
  })
})

describe('audit export --since-last', () => {
  it('exports everything, then nothing, then exactly the appended entries; the state is 0600 JSON', async () => {
    const {dir, head} = makeLog()
    const state = join(tempDir(), 'export.state')
    const first = await runAudit(['export', '--dir', dir, '--since-last', state])
    assert.equal(first.code, 0, first.stderr)
    assert.equal(lines(first.stdout).length, 5)
    assert.equal(statSync(state).mode & 0o777, 0o600)
    const saved = JSON.parse(readFileSync(state, 'utf8'))
    assert.deepEqual([saved.file, saved.line, saved.chain_hash, saved.timestamp], [`audit-${DAY2}.jsonl`, 2, head, `${DAY2}T10:00:01.000Z`])

    const second = await runAudit(['export', '--dir', dir, '--since-last', state])
    assert.equal(second.code, 0, second.stderr)
    assert.equal(second.stdout, '')

    appendEntries(
      dir,
      `audit-${DAY2}.jsonl`,
      spec(2, DAY2, {actor: 'new'}).map((e, i) => ({...e, timestamp: `${DAY2}T11:00:0${i}.000Z`})),
      head,
    )
    const third = await runAudit(['export', '--dir', dir, '--since-last', state])
    assert.deepEqual(
      lines(third.stdout).map((l) => JSON.parse(l).timestamp),
      [`${DAY2}T11:00:00.000Z`, `${DAY2}T11:00:01.000Z`],
    )
    assert.equal(JSON.parse(readFileSync(state, 'utf8')).line, 4)
  })

  it('across size rotation and gzip: the state is found in the part, and only the new entries follow', async () => {
    const {dir, head} = makeLog()
    const state = join(tempDir(), 'export.state')
    assert.equal((await runAudit(['export', '--dir', dir, '--since-last', state])).code, 0)
    // The writer rotates the live file into part 001 and gzips it; new entries go to a new live file.
    const live = join(dir, `audit-${DAY2}.jsonl`)
    writeFileSync(join(dir, `audit-${DAY2}.001.jsonl.gz`), gzipSync(readFileSync(live)))
    unlinkSync(live)
    const more = chainedLines(
      spec(3, DAY2, {actor: 'after'}).map((e, i) => ({...e, timestamp: `${DAY2}T12:00:0${i}.000Z`})),
      head,
    )
    writeLog(dir, `audit-${DAY2}.jsonl`, more.lines)
    const r = await runAudit(['export', '--dir', dir, '--since-last', state])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(
      lines(r.stdout).map((l) => JSON.parse(l).actor),
      ['after', 'after', 'after'],
    )
    assert.deepEqual(JSON.parse(readFileSync(state, 'utf8')).chain_hash, more.head)
    assert.equal((await runAudit(['export', '--dir', dir, '--since-last', state])).stdout, '')
  })

  it('across retention: the audit.retention record accounts for the pruned file; the retention entries and new ones follow', async () => {
    const dir = tempDir()
    const old = chainedLines([
      {timestamp: '2020-01-01T08:00:00.000Z', event: 'a.b'},
      {timestamp: '2020-01-01T09:00:00.000Z', event: 'a.c'},
    ])
    writeLog(dir, 'audit-2020-01-01.jsonl', old.lines)
    const next = chainedLines([{timestamp: '2020-01-02T08:00:00.000Z', event: 'a.d'}], old.head)
    writeLog(dir, 'audit-2020-01-02.jsonl', next.lines)
    const state = join(tempDir(), 'export.state')
    assert.equal(lines((await runAudit(['export', '--dir', dir, '--since-last', state])).stdout).length, 3)
    const prune = await runAudit(['log', 'x.after', '--prune', '--retention-days', '30', '--dir', dir])
    assert.equal(prune.code, 0, prune.stderr)
    assert.equal(existsSync(join(dir, 'audit-2020-01-02.jsonl')), false)
    const r = await runAudit(['export', '--dir', dir, '--since-last', state])
    assert.equal(r.code, 0, r.stderr)
    const events = lines(r.stdout).map((l) => JSON.parse(l).event)
    assert.ok(events.includes('x.after'), events.join())
    assert.ok(
      events.every((e) => e === 'audit.retention' || e === 'x.after'),
      events.join(),
    )
  })

  it('a state the log no longer matches (entry altered, file gone without a record, tampered state) is exit 2, nothing exported', async () => {
    const {dir} = makeLog()
    const state = join(tempDir(), 'export.state')
    await runAudit(['export', '--dir', dir, '--since-last', state])
    const saved = readFileSync(state, 'utf8')

    const tampered = JSON.parse(saved)
    tampered.chain_hash = 'f'.repeat(64)
    writeFileSync(state, JSON.stringify(tampered))
    let r = await runAudit(['export', '--dir', dir, '--since-last', state])
    assert.equal(r.code, 2)
    assert.equal(r.stdout, '')
    assert.match(
      r.stderr,
      /^audit export: error: --since-last .*: the log no longer holds the last exported entry \(audit-2026-11-02\.jsonl:2, /,
    )
    assert.equal(readFileSync(state, 'utf8'), JSON.stringify(tampered))

    writeFileSync(state, saved)
    renameSync(join(dir, `audit-${DAY2}.jsonl`), join(tempDir(), 'moved.jsonl'))
    r = await runAudit(['export', '--dir', dir, '--since-last', state])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /audit-2026-11-02\.jsonl is gone and no audit\.retention record accounts for/)

    writeFileSync(state, '{"version":1,"file":"x"}')
    r = await runAudit(['export', '--dir', dir, '--since-last', state])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /not an export state/)
  })
})

describe('audit export --archive', () => {
  function sha256(data: Buffer): string {
    return createHash('sha256').update(data).digest('hex')
  }

  it('zip: listed by unzip -l; manifest hashes recomputed; one changed byte makes --check exit 1', async () => {
    const {dir, head} = makeLog()
    const bundle = join(tempDir(), 'evidence.zip')
    const r = await runAudit([
      'export',
      '--dir',
      dir,
      '--format',
      'cef',
      '--since',
      DAY2,
      '--archive',
      'zip',
      '--include-source',
      '--output',
      bundle,
    ])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(statSync(bundle).mode & 0o777, 0o600)
    const listing = execFileSync('unzip', ['-l', bundle], {encoding: 'utf8'})
    for (const name of ['audit-export.cef', 'manifest.json', `source/audit-${DAY2}.jsonl`])
      assert.match(listing, new RegExp(name.replace(/\./g, '\\.')))
    assert.doesNotMatch(listing, new RegExp(`source/audit-${DAY1}`))
    const manifest = JSON.parse(execFileSync('unzip', ['-p', bundle, 'manifest.json'], {encoding: 'utf8'}))
    assert.equal(manifest.entries, 2)
    assert.deepEqual(manifest.sources, [{file: `audit-${DAY2}.jsonl`, entries: 2}])
    assert.equal(manifest.format, 'cef')
    assert.equal(manifest.query.since, DAY2)
    assert.deepEqual([manifest.verify.valid, manifest.verify.head.hash], [true, head])
    assert.equal(manifest.time_range.first, `${DAY2}T10:00:00.000Z`)
    for (const file of manifest.files) {
      const data = execFileSync('unzip', ['-p', bundle, file.name])
      assert.equal(sha256(data), file.sha256, file.name)
      assert.equal(data.length, file.bytes)
    }
    const ok = await runAudit(['export', '--check', bundle])
    assert.equal(ok.code, 0, ok.stderr)
    assert.match(ok.stdout, /OK \(zip, 2 files, 2 entries, chain valid when bundled\)/)

    // Rebuild the zip with one byte of the export changed (stored, so the byte is in the file as is).
    const work = tempDir()
    execFileSync('unzip', ['-q', bundle, '-d', work])
    const exported = join(work, 'audit-export.cef')
    const bytes = readFileSync(exported)
    bytes[10] ^= 1
    writeFileSync(exported, bytes)
    const forged = join(tempDir(), 'forged.zip')
    execFileSync('zip', ['-q', '-r', forged, '.'], {cwd: work})
    const bad = await runAudit(['export', '--check', forged])
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /audit-export\.cef: sha256 [0-9a-f]{64} \(\d+ bytes\), the manifest says/)
    assert.match(bad.stdout, /MISMATCH \(1 problem\)/)
  })

  it('tar.gz: listed by tar -tzf; a changed byte in the archive fails --check; garbage is exit 2', async () => {
    const {dir} = makeLog()
    const bundle = join(tempDir(), 'evidence.tar.gz')
    const r = await runAudit(['export', '--dir', dir, '--archive', 'tar.gz', '--output', bundle])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(execFileSync('tar', ['-tzf', bundle], {encoding: 'utf8'}).trim().split('\n').sort(), [
      'audit-export.jsonl',
      'manifest.json',
    ])
    assert.equal((await runAudit(['export', '--check', bundle])).code, 0)

    const work = tempDir()
    execFileSync('tar', ['-xzf', bundle, '-C', work])
    const exported = join(work, 'audit-export.jsonl')
    writeFileSync(exported, readFileSync(exported, 'utf8').replace('user1', 'user9'))
    const forged = join(tempDir(), 'forged.tar.gz')
    execFileSync('tar', ['-czf', forged, '-C', work, 'audit-export.jsonl', 'manifest.json'])
    const bad = await runAudit(['export', '--check', forged])
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /audit-export\.jsonl: sha256/)

    const extra = join(tempDir(), 'extra.tar.gz')
    writeFileSync(join(work, 'smuggled.txt'), 'x')
    execFileSync('tar', ['-xzf', bundle, '-C', work])
    execFileSync('tar', ['-czf', extra, '-C', work, 'audit-export.jsonl', 'manifest.json', 'smuggled.txt'])
    const smuggled = await runAudit(['export', '--check', extra])
    assert.equal(smuggled.code, 1)
    assert.match(smuggled.stderr, /smuggled\.txt: in the bundle, not in the manifest/)

    const garbage = join(tempDir(), 'garbage.zip')
    writeFileSync(garbage, 'not a bundle')
    const g = await runAudit(['export', '--check', garbage])
    assert.equal(g.code, 2)
    assert.match(g.stderr, /not a zip or tar\.gz bundle/)
  })

  it('with --since-last, the state advances only once the bundle is in place', async () => {
    const {dir} = makeLog()
    const state = join(tempDir(), 'export.state')
    const failed = await runAudit([
      'export',
      '--dir',
      dir,
      '--archive',
      'zip',
      '--output',
      join(tempDir(), 'no', 'such', 'dir.zip'),
      '--since-last',
      state,
    ])
    assert.notEqual(failed.code, 0)
    assert.equal(existsSync(state), false)
    const ok = await runAudit(['export', '--dir', dir, '--archive', 'zip', '--output', join(tempDir(), 'b.zip'), '--since-last', state])
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(JSON.parse(readFileSync(state, 'utf8')).line, 2)
  })
})

describe('audit export privacy', () => {
  it('--redact and --pseudonymize-ip change what is exported, never the log; stable pseudonyms; one summary line', async () => {
    const {dir} = makeLog()
    const before = readdirSync(dir)
      .map((n) => readFileSync(join(dir, n), 'utf8'))
      .join('')
    const env = {AUDIT_PSEUDONYMIZE_KEY: 'k'.repeat(32)}
    const run = () => runAudit(['export', '--dir', dir, '--redact', 'details.n', '--redact', 'actor', '--pseudonymize-ip'], {env})
    const r = await run()
    assert.equal(r.code, 0, r.stderr)
    const entries = lines(r.stdout).map((l) => JSON.parse(l))
    assert.ok(entries.every((e) => e.actor === '[REDACTED]' && e.details.n === '[REDACTED]'))
    assert.ok(
      entries.every((e) => /^fd[0-9a-f]{2}(:[0-9a-f]{1,4}){7}$/.test(e.details.ip)),
      JSON.stringify(entries[0]),
    )
    assert.equal(entries[0].details.ip, entries[3].details.ip) // the same address, the same pseudonym
    assert.notEqual(entries[0].details.ip, entries[1].details.ip)
    assert.equal(r.stderr, 'audit export: redacted 10 values (details.n, actor); pseudonymized 5 IP addresses\n')
    assert.equal((await run()).stdout, r.stdout)
    const otherKey = await runAudit(['export', '--dir', dir, '--pseudonymize-ip'], {env: {AUDIT_PSEUDONYMIZE_KEY: 'z'.repeat(32)}})
    assert.notEqual(JSON.parse(lines(otherKey.stdout)[0]).details.ip, entries[0].details.ip)
    assert.equal(
      readdirSync(dir)
        .map((n) => readFileSync(join(dir, n), 'utf8'))
        .join(''),
      before,
    )

    const noKey = await runAudit(['export', '--dir', dir, '--pseudonymize-ip'])
    assert.equal(noKey.code, 2)
    assert.match(noKey.stderr, /--pseudonymize-ip: no key/)
    const bad = await runAudit(['export', '--dir', dir, '--redact', 'timestamp'])
    assert.match(bad.stderr, /--redact "timestamp": timestamp is needed by every format/)
    const leak = await runAudit([
      'export',
      '--dir',
      dir,
      '--redact',
      'actor',
      '--archive',
      'zip',
      '--include-source',
      '--output',
      join(tempDir(), 'x.zip'),
    ])
    assert.equal(leak.code, 2)
  })
})

describe('audit export to a closed pipe', () => {
  it('a reader that goes away early (| head) ends the export quietly and leaves the --since-last state alone', async () => {
    const dir = tempDir()
    const many = chainedLines(Array.from({length: 30_000}, (_, i) => ({timestamp: `${DAY1}T10:00:00.000Z`, event: 'a.b', details: {i}})))
    writeLog(dir, `audit-${DAY1}.jsonl`, many.lines)
    const state = join(tempDir(), 'export.state')
    const out = execFileSync(
      'bash',
      [
        '-c',
        `node ${JSON.stringify(join(process.cwd(), 'bin', 'run.js'))} export --dir ${dir} --since-last ${state} | head -n 1; echo "rc=\${PIPESTATUS[0]}"`,
      ],
      {encoding: 'utf8', env: {...process.env, HOME: tempDir()}, stdio: ['ignore', 'pipe', 'pipe']},
    )
    const [first, rc] = out.trim().split('\n')
    assert.equal(JSON.parse(first).details.i, 0)
    assert.equal(rc, 'rc=0')
    assert.equal(existsSync(state), false)
  })
})

describe('audit export to a syslog server', () => {
  it('sends each entry as its own octet-counted RFC 5424 message with the record as MSG, and advances --since-last', async () => {
    const {dir} = makeLog()
    const received: Buffer[] = []
    const server = createServer((socket) => socket.on('data', (d: Buffer) => received.push(d)))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const {port} = server.address() as AddressInfo
    const state = join(tempDir(), 'export.state')
    const args = [
      'export',
      '--dir',
      dir,
      '--format',
      'leef',
      '--since-last',
      state,
      '--to',
      `tcp://127.0.0.1:${port}?framing=octet-counting`,
    ]
    const run = await runAudit(args)
    assert.equal(run.code, 0, run.stderr)
    await new Promise((r) => setTimeout(r, 200))
    let stream = Buffer.concat(received).toString('utf8')
    const messages: string[] = []
    while (stream.length > 0) {
      const space = stream.indexOf(' ')
      const length = Number(stream.slice(0, space))
      const rest = Buffer.from(stream.slice(space + 1))
      messages.push(rest.subarray(0, length).toString('utf8'))
      stream = rest.subarray(length).toString('utf8')
    }
    assert.equal(messages.length, 5)
    assert.match(messages[0], /^<134>1 2026-11-01T10:00:00\.000Z test audit 1 api\.request - LEEF:2\.0\|/)
    assert.match(messages[1], /^<132>1 2026-11-01T10:00:01\.000Z test audit 1 auth\.fail - LEEF:2\.0\|/)
    assert.ok(messages.every((m) => !m.includes('\n')))
    // A second run: nothing new, nothing sent.
    const again = await runAudit(args)
    assert.equal(again.code, 0, again.stderr)
    await new Promise((r) => setTimeout(r, 200))
    assert.equal(Buffer.concat(received).toString('utf8').match(/LEEF:/g)?.length, 5)
    server.close()
  })

  it('refuses a format whose records span lines (csv, ecs-bulk) with one line, exit 2', async () => {
    const {dir} = makeLog()
    const server = createServer((socket) => socket.resume())
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const {port} = server.address() as AddressInfo
    const run = await runAudit(['export', '--dir', dir, '--format', 'ecs-bulk', '--to', `tcp://127.0.0.1:${port}`])
    server.close()
    assert.equal(run.code, 2)
    assert.match(run.stderr, /--format ecs-bulk: its records span lines/)
    assert.equal(run.stderr.trim().split('\n').length, 1)
  })
})

import assert from 'node:assert/strict'
import {statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'
import {gzipSync} from 'node:zlib'

import {compileFilter} from '../../src/events/filter.js'
import type {LocatedEntry} from '../../src/events/model.js'
import {Diagnostics} from '../../src/store/diagnostics.js'
import {listLogFiles} from '../../src/store/files.js'
import {readEntries} from '../../src/store/reader.js'
import {countMatches} from '../../src/store/count.js'
import {queryEntries} from '../../src/store/query.js'
import {sha256Hex} from '../../src/chain/hash.js'
import {readLastEntries} from '../../src/store/tail.js'
import {summarize} from '../../src/summary/summarize.js'
import {chainedLines, tempDir, writeLog} from '../helpers.js'

async function readAll(
  dir: string,
  options: Parameters<typeof readEntries>[1] = {},
): Promise<{entries: LocatedEntry[]; diagnostics: Diagnostics}> {
  const diagnostics = options.diagnostics ?? new Diagnostics()
  const entries: LocatedEntry[] = []
  for await (const e of readEntries(dir, {...options, diagnostics})) entries.push(e)
  return {entries, diagnostics}
}

const spec = (i: number, day = '2026-11-02') => ({
  timestamp: new Date(Date.parse(`${day}T10:00:00.000Z`) + i * 1000).toISOString(),
  event: 'auth.login',
  actor: `user${i}`,
})
const good = (n: number, day = '2026-11-02') => chainedLines(Array.from({length: n}, (_, i) => spec(i, day))).lines

test('entries stream in chain order across plain and gzip parts, with file and line', async () => {
  const dir = tempDir()
  const {lines, head} = chainedLines([spec(0, '2026-11-01'), spec(1, '2026-11-01')])
  const more = chainedLines([spec(2, '2026-11-02'), spec(3, '2026-11-02'), spec(4, '2026-11-02')], head)
  writeLog(dir, 'audit-2026-11-01.jsonl', lines)
  writeLog(dir, 'audit-2026-11-02.001.jsonl.gz', more.lines.slice(0, 2))
  writeLog(dir, 'audit-2026-11-02.jsonl', more.lines.slice(2))
  const {entries, diagnostics} = await readAll(dir)
  assert.equal(diagnostics.total, 0)
  assert.deepEqual(
    entries.map((e) => e.entry.actor),
    ['user0', 'user1', 'user2', 'user3', 'user4'],
  )
  assert.deepEqual(
    entries.map((e) => `${e.file.slice(dir.length + 1)}:${e.line}`),
    [
      'audit-2026-11-01.jsonl:1',
      'audit-2026-11-01.jsonl:2',
      'audit-2026-11-02.001.jsonl.gz:1',
      'audit-2026-11-02.001.jsonl.gz:2',
      'audit-2026-11-02.jsonl:1',
    ],
  )
  assert.equal(entries[0].raw, lines[0])
  assert.equal(entries[0].profile, 'native')
  assert.equal(entries[0].time, Date.parse('2026-11-01T10:00:00.000Z'))
})

test('malformed JSON is counted with its first location and the rest is read', async () => {
  const dir = tempDir()
  const lines = good(5)
  writeLog(dir, 'audit-2026-11-02.jsonl', [
    lines[0],
    '{"timestamp":',
    lines[1],
    'not json at all',
    lines[2],
    '{"a":1,}',
    lines[3],
    lines[4],
  ])
  const {entries, diagnostics} = await readAll(dir)
  assert.equal(entries.length, 5)
  assert.deepEqual(diagnostics.counts(), {malformed: 3})
  assert.equal(diagnostics.lines().length, 1)
  assert.match(diagnostics.lines()[0], /^warning: 3 malformed lines, first at audit-2026-11-02\.jsonl:2 \(.+\)$/)
})

/** A chained audit.recovery record for `fragment`, torn at `file`:`line`. */
const recoveryOf = (fragment: string, file: string, line: number, prev?: string) =>
  chainedLines(
    [
      {
        timestamp: '2026-11-02T11:00:00.000Z',
        event: 'audit.recovery',
        level: 'warning',
        actor: 'auditkit',
        details: {file, line, fragment_bytes: Buffer.byteLength(fragment), fragment_sha256: sha256Hex(fragment)},
      },
    ],
    prev,
  ).lines[0]

test('a torn line that auditkit recovered (its audit.recovery record follows) is not reported, reading forwards, backwards and newest first; others are', async () => {
  const dir = tempDir()
  const lines = good(3)
  writeLog(dir, 'audit-2026-11-02.jsonl', [
    lines[0],
    '{"timestamp":',
    recoveryOf('{"timestamp":', 'audit-2026-11-02.jsonl', 2), // recovered: not reported
    '{"event":',
    lines[1],
    recoveryOf('{"event":', 'audit-2026-11-02.jsonl', 4), // a record not right after it: reported
    '{"lost":',
    recoveryOf('{"other":', 'audit-2026-11-02.jsonl', 7), // a record of other bytes: reported
    lines[2],
    '{"end":', // bad last line: reported
  ])
  const expectReported = (diagnostics: Diagnostics) => {
    assert.deepEqual(diagnostics.counts(), {malformed: 3})
    assert.match(diagnostics.lines()[0], /first at audit-2026-11-02\.jsonl:4 /)
  }
  const {entries, diagnostics} = await readAll(dir)
  assert.equal(entries.length, 6)
  expectReported(diagnostics)

  const newestFirst = new Diagnostics()
  for await (const _ of queryEntries(dir, {filter: {}, reverse: true, diagnostics: newestFirst}));
  expectReported(newestFirst)

  const backwards = new Diagnostics()
  const last = await readLastEntries(await listLogFiles(dir), 100, {diagnostics: backwards})
  assert.equal(last.entries.length, 6)
  expectReported(backwards)
})

test('a line torn inside a UTF-8 character and recovered is not reported; invalid UTF-8 without a record is', async () => {
  const dir = tempDir()
  const lines = good(2)
  const whole = Buffer.from('{"timestamp":"2026-11-02T10:00:05.000Z","event":"auth.login","actor":"é')
  const torn = whole.subarray(0, whole.length - 1) // half of the two bytes of é
  const record = recoveryOf('', 'audit-2026-11-02.jsonl', 2).replace(
    /"fragment_bytes":0,"fragment_sha256":"[0-9a-f]{64}"/,
    `"fragment_bytes":${torn.length},"fragment_sha256":"${sha256Hex(torn)}"`,
  )
  const nl = Buffer.from('\n')
  writeFileSync(
    join(dir, 'audit-2026-11-02.jsonl'),
    Buffer.concat([Buffer.from(lines[0]), nl, torn, nl, Buffer.from(record), nl, Buffer.from(lines[1]), nl, torn, nl]),
  )
  const {entries, diagnostics} = await readAll(dir)
  assert.deepEqual(
    entries.map((e) => e.line),
    [1, 3, 4],
  )
  assert.equal(diagnostics.total, 1)
  assert.match(diagnostics.lines()[0], /^warning: 1 line with invalid UTF-8, at audit-2026-11-02\.jsonl:5 /)
})

test("with a selective filter, a recovered torn line that holds the filter's literal is not reported", async () => {
  const dir = tempDir()
  const lines = good(3)
  const torn = lines[1].slice(0, 90) // holds "auth.login"
  assert.match(torn, /"auth\.login"/)
  writeLog(dir, 'audit-2026-11-02.jsonl', [lines[0], torn, recoveryOf(torn, 'audit-2026-11-02.jsonl', 2), lines[2], torn])
  const {entries, diagnostics} = await readAll(dir, {filter: compileFilter({events: ['auth.login']})})
  assert.deepEqual(
    entries.map((e) => e.line),
    [1, 4],
  )
  // Only the second copy, with no record after it, is damage.
  assert.equal(diagnostics.total, 1)
  assert.match(diagnostics.lines()[0], /^warning: 1 malformed line, at audit-2026-11-02\.jsonl:5 /)
})

test('with a selective filter, a recovered torn line that ends a read block is not reported: its record starts the next block', async () => {
  const dir = tempDir()
  const [, second, third] = good(3)
  const torn = second.slice(0, 90) // holds "auth.login" and does not end like an entry
  const record = recoveryOf(torn, 'audit-2026-11-02.jsonl', 2)
  // The first entry padded so that it and the torn line are exactly 256 KiB: the end of a block of
  // the reader (64 KiB) and of search --count's ranges (256 KiB).
  const first = (pad: string) => chainedLines([{...spec(0), event: 'auth.logout', details: {pad}}]).lines[0]
  const pad = 'x'.repeat(256 * 1024 - Buffer.byteLength(`${first('')}\n${torn}\n`))
  assert.equal(Buffer.byteLength(`${first(pad)}\n${torn}\n`), 256 * 1024)
  writeLog(dir, 'audit-2026-11-02.jsonl', [first(pad), torn, record, third])
  const filter = {events: ['auth.login']}
  const {entries, diagnostics} = await readAll(dir, {filter: compileFilter(filter)})
  assert.deepEqual(
    entries.map((e) => e.line),
    [4],
  )
  assert.equal(diagnostics.total, 0, diagnostics.lines().join('; '))
  const counted = new Diagnostics()
  assert.equal(await countMatches(dir, {filter, diagnostics: counted, threads: 1, parallelBytes: 0}), 1)
  assert.equal(counted.total, 0, counted.lines().join('; '))
  // Without the record the torn line is damage, found by both.
  writeLog(dir, 'audit-2026-11-02.jsonl', [first(pad), torn, third])
  const reported = await readAll(dir, {filter: compileFilter(filter)})
  assert.match(reported.diagnostics.lines().join('\n'), /1 malformed line, at audit-2026-11-02\.jsonl:2 /)
  const countReported = new Diagnostics()
  await countMatches(dir, {filter, diagnostics: countReported, threads: 1, parallelBytes: 0})
  assert.match(countReported.lines().join('\n'), /1 malformed line, at audit-2026-11-02\.jsonl:2 /)
})

test('read backwards, a recovered torn line is recognised when its record starts the next 64 KiB block', async () => {
  const dir = tempDir()
  const [first] = good(1)
  const fragment = '{"timestamp":"2026-11-02T10:'
  const record = recoveryOf(fragment, 'audit-2026-11-02.jsonl', 2)
  // One more entry, padded so that the record's line and what follows are exactly one block.
  const after = (pad: string) => chainedLines([{...spec(9), details: {pad}}]).lines[0]
  const bytesFrom = (pad: string) => Buffer.byteLength(`${record}\n${after(pad)}\n`)
  const pad = 'x'.repeat(64 * 1024 - bytesFrom(''))
  assert.equal(bytesFrom(pad), 64 * 1024)
  writeLog(dir, 'audit-2026-11-02.jsonl', [first, fragment, record, after(pad)])
  const diagnostics = new Diagnostics()
  const {entries} = await readLastEntries(await listLogFiles(dir), 10, {diagnostics})
  assert.equal(entries.length, 3)
  assert.deepEqual(
    entries.map((e) => e.line),
    [1, 3, 4],
  )
  assert.equal(diagnostics.total, 0, diagnostics.lines().join('; '))
  // The same file with a record of other bytes: reported.
  writeLog(dir, 'audit-2026-11-02.jsonl', [first, '{"timestamp":"2026-11-02T10:0X', record, after(pad)])
  const reported = new Diagnostics()
  await readLastEntries(await listLogFiles(dir), 10, {diagnostics: reported})
  assert.match(reported.lines().join('\n'), /1 malformed line, at audit-2026-11-02\.jsonl:2 /)
})

test('JSON values that are not objects: [1], 123, null, "x"', async () => {
  const dir = tempDir()
  writeLog(dir, 'audit-2026-11-02.jsonl', [...good(1), '[1]', '123', 'null', '"x"', 'true'])
  const {entries, diagnostics} = await readAll(dir)
  assert.equal(entries.length, 1)
  assert.deepEqual(diagnostics.counts(), {'not-object': 5})
  assert.match(diagnostics.lines()[0], /^warning: 5 lines that are not JSON objects, first at audit-2026-11-02\.jsonl:2 /)
})

test('entries failing the schema are counted, one warning naming the first and why', async () => {
  const dir = tempDir()
  const base = JSON.parse(good(1)[0])
  delete base.chain_hash
  const bad = [
    {...base, timestamp: 'yesterday'},
    {...base, timestamp: '2026-02-30T10:00:00.000Z'},
    {...base, timestamp: '2026-02-30T10:00:00Z'},
    {...base, timestamp: '2026-11-02 10:00:00Z'},
    {...base, event: 'NoDot'},
    {...base, event: 'Auth.Login'},
    {...base, level: 'loud'},
    {...base, actor: 42},
    {...base, details: 'text'},
    {...base, metadata: [1]},
    {...base, chain_hash: 'abc'},
    {timestamp: base.timestamp},
  ]
  writeLog(dir, 'audit-2026-11-02.jsonl', [
    ...bad.map((o) => JSON.stringify(o)),
    JSON.stringify({...base, level: 'WARN'}),
    JSON.stringify({...base, level: 'err'}),
  ])
  const {entries, diagnostics} = await readAll(dir)
  assert.deepEqual(
    entries.map((e) => e.entry.level),
    ['warning', 'error'],
  )
  assert.deepEqual(diagnostics.counts(), {invalid: bad.length})
  assert.match(diagnostics.lines()[0], /^warning: 12 entries failing the schema, first at audit-2026-11-02\.jsonl:1 \(timestamp: .+\)$/)
})

test('a line with invalid UTF-8 is counted; its neighbours are kept', async () => {
  const dir = tempDir()
  const lines = good(3)
  const bytes = Buffer.concat([
    Buffer.from(`${lines[0]}\n`),
    Buffer.from('{"timestamp":"2026-11-02T10:00:00.000Z","event":"a.b","level":"info","actor":"'),
    Buffer.from([0xff, 0xfe, 0xc3]),
    Buffer.from('","details":{}}\n'),
    Buffer.from(`${lines[1]}\n${lines[2]}\n`),
  ])
  writeFileSync(join(dir, 'audit-2026-11-02.jsonl'), bytes)
  const {entries, diagnostics} = await readAll(dir)
  assert.deepEqual(
    entries.map((e) => e.line),
    [1, 3, 4],
  )
  assert.deepEqual(diagnostics.counts(), {utf8: 1})
  assert.match(diagnostics.lines()[0], /^warning: 1 line with invalid UTF-8, at audit-2026-11-02\.jsonl:2 /)
})

test('a line over 1 MiB is counted and skipped, line numbers stay right', async () => {
  const dir = tempDir()
  const lines = good(3)
  const huge = JSON.stringify({...JSON.parse(lines[0]), details: {blob: 'x'.repeat(1024 * 1024 + 10)}})
  const huger = JSON.stringify({...JSON.parse(lines[0]), details: {blob: 'y'.repeat(3 * 1024 * 1024)}})
  writeLog(dir, 'audit-2026-11-02.jsonl', [lines[0], huge, lines[1], huger, lines[2]])
  const {entries, diagnostics} = await readAll(dir)
  assert.deepEqual(
    entries.map((e) => e.line),
    [1, 3, 5],
  )
  assert.deepEqual(diagnostics.counts(), {'too-long': 2})
  assert.match(diagnostics.lines()[0], /^warning: 2 lines over 1 MiB, first at audit-2026-11-02\.jsonl:2 /)
})

test('a line of almost 1 MiB is read', async () => {
  const dir = tempDir()
  const line = JSON.stringify({...JSON.parse(good(1)[0]), details: {blob: 'x'.repeat(1024 * 1024 - 400)}})
  assert.ok(Buffer.byteLength(line) < 1024 * 1024)
  writeLog(dir, 'audit-2026-11-02.jsonl', [line])
  const {entries, diagnostics} = await readAll(dir)
  assert.equal(entries.length, 1)
  assert.equal(diagnostics.total, 0)
})

test('a truncated .gz is reported by name and the entries before the damage are kept', async () => {
  const dir = tempDir()
  const lines = good(2000)
  const gz = gzipSync(`${lines.join('\n')}\n`)
  writeFileSync(join(dir, 'audit-2026-11-02.001.jsonl.gz'), gz.subarray(0, Math.floor(gz.length * 0.6)))
  writeLog(dir, 'audit-2026-11-02.jsonl', good(1))
  const {entries, diagnostics} = await readAll(dir)
  const fromGz = entries.filter((e) => e.file.endsWith('.gz'))
  assert.ok(fromGz.length > 500, `kept ${fromGz.length} entries before the damage`)
  assert.ok(fromGz.length < 2000)
  // they are the first lines, in order, intact
  assert.deepEqual(
    fromGz.map((e) => e.raw),
    lines.slice(0, fromGz.length),
  )
  assert.equal(entries.at(-1)!.file, join(dir, 'audit-2026-11-02.jsonl'))
  assert.equal(diagnostics.counts()['truncated-gzip'], 1)
  assert.match(diagnostics.lines().join('\n'), /audit-2026-11-02\.001\.jsonl\.gz/)
})

test('a .gz that is not gzip at all is reported by name; other files are read', async () => {
  const dir = tempDir()
  writeFileSync(join(dir, 'audit-2026-11-02.001.jsonl.gz'), `${good(1)[0]}\n`)
  writeLog(dir, 'audit-2026-11-02.jsonl', good(2))
  const {entries, diagnostics} = await readAll(dir)
  assert.equal(entries.length, 2)
  assert.equal(diagnostics.total, 1)
  assert.match(diagnostics.lines()[0], /audit-2026-11-02\.001\.jsonl\.gz/)
})

test('an unterminated last line is not an entry, whole or torn: it is reported and left out', async () => {
  const dir = tempDir()
  const lines = good(3)
  writeLog(dir, 'audit-2026-11-01.jsonl', good(2, '2026-11-01'), {terminate: false})
  writeLog(dir, 'audit-2026-11-02.jsonl', [lines[0], lines[1], lines[2].slice(0, 40)], {terminate: false})
  const {entries, diagnostics} = await readAll(dir)
  assert.deepEqual(
    entries.map((e) => `${e.file.slice(dir.length + 1)}:${e.line}`),
    ['audit-2026-11-01.jsonl:1', 'audit-2026-11-02.jsonl:1', 'audit-2026-11-02.jsonl:2'],
  )
  assert.deepEqual(diagnostics.counts(), {unterminated: 2})
  assert.match(diagnostics.lines()[0], /^warning: 2 unterminated last lines, first at audit-2026-11-01\.jsonl:2 /)
})

test('a forged whole entry as the unterminated last line is neither found nor counted by search, summary or tail', async () => {
  const dir = tempDir()
  const lines = good(2)
  const fake = lines[1]
    .replace('"actor":"user1"', '"actor":"admin-FAKE"')
    .replace(/"chain_hash":"[0-9a-f]{64}"/, `"chain_hash":"${'0'.repeat(64)}"`)
  writeLog(dir, 'audit-2026-11-02.jsonl', [lines[0], fake], {terminate: false})
  const {entries, diagnostics} = await readAll(dir)
  assert.deepEqual(
    entries.map((e) => e.entry.actor),
    ['user0'],
  )
  assert.deepEqual(diagnostics.counts(), {unterminated: 1})
  const reverse: string[] = []
  for await (const batch of queryEntries(dir, {filter: {}, reverse: true, limit: 5})) reverse.push(...batch.map((e) => e.entry.actor))
  assert.deepEqual(reverse, ['user0'])
  const report = await summarize(dir, {filter: {}})
  assert.equal(report.total, 1)
  assert.deepEqual(
    report.top_actors.map((a) => a.name),
    ['user0'],
  )
})

test('blank and whitespace-only lines are skipped silently, and counted in line numbers', async () => {
  const dir = tempDir()
  const lines = good(2)
  writeLog(dir, 'audit-2026-11-02.jsonl', ['', lines[0], '   ', '\t', lines[1], ''])
  const {entries, diagnostics} = await readAll(dir)
  assert.deepEqual(
    entries.map((e) => e.line),
    [2, 5],
  )
  assert.equal(diagnostics.total, 0)
})

test('CRLF line endings are read', async () => {
  const dir = tempDir()
  const lines = good(2)
  writeFileSync(join(dir, 'audit-2026-11-02.jsonl'), `${lines.join('\r\n')}\r\n`)
  const {entries, diagnostics} = await readAll(dir)
  assert.equal(entries.length, 2)
  assert.equal(diagnostics.total, 0)
})

test('each kind of problem gets its own warning line, in file:line form', async () => {
  const dir = tempDir()
  writeLog(dir, 'audit-2026-11-02.jsonl', [...good(1), 'oops', '[1]', '{"timestamp":"x"}', 'oops again'])
  const {diagnostics} = await readAll(dir)
  const text = diagnostics.lines()
  assert.equal(text.length, 3)
  assert.ok(text.includes(text.find((l) => l.startsWith('warning: 2 malformed lines, first at audit-2026-11-02.jsonl:2'))!))
  assert.ok(text.some((l) => l.startsWith('warning: 1 line that is not a JSON object, at audit-2026-11-02.jsonl:3')))
  assert.ok(text.some((l) => l.startsWith('warning: 1 entry failing the schema, at audit-2026-11-02.jsonl:4')))
})

test('a warning never carries terminal escapes from the log', async () => {
  const dir = tempDir()
  const base = JSON.parse(good(1)[0])
  writeLog(dir, 'audit-2026-11-02.jsonl', [JSON.stringify({...base, level: '\u001b]0;pwned\u0007\u001b[31mred'})])
  const {diagnostics} = await readAll(dir)
  assert.equal(diagnostics.total, 1)
  assert.doesNotMatch(diagnostics.lines()[0], /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/)
})

test('a range filter reads only matching entries and files', async () => {
  const dir = tempDir()
  writeLog(dir, 'audit-2026-11-01.jsonl', good(3, '2026-11-01'))
  writeLog(dir, 'audit-2026-11-02.jsonl', good(3, '2026-11-02'))
  writeFileSync(join(dir, 'audit-2026-10-01.jsonl'), 'garbage that would be reported if opened\n')
  const filter = compileFilter({since: Date.parse('2026-11-02T10:00:01Z')})
  const {entries, diagnostics} = await readAll(dir, {filter})
  assert.deepEqual(
    entries.map((e) => e.entry.actor),
    ['user1', 'user2'],
  )
  assert.equal(diagnostics.total, 0)
})

test('tail (reading backwards) reports a bad line with its real line number', async () => {
  const dir = tempDir()
  const lines = good(4)
  writeLog(dir, 'audit-2026-11-02.jsonl', [lines[0], 'not json', lines[1], lines[2], lines[3]])
  const diagnostics = new Diagnostics()
  const {entries} = await readLastEntries(await listLogFiles(dir), 10, {diagnostics})
  assert.deepEqual(
    entries.map((e) => e.line),
    [1, 3, 4, 5],
  )
  assert.match(diagnostics.lines()[0], /at audit-2026-11-02\.jsonl:2 /)
})

test('reading backwards passes over over-long lines anywhere (first, middle, last), reporting each with its number and length', async () => {
  const dir = tempDir()
  const lines = good(4)
  const huge = (n: number) => 'x'.repeat(n)
  writeLog(dir, 'audit-2026-11-02.jsonl', [
    huge(3 * 1024 * 1024),
    lines[0],
    lines[1],
    huge(2 * 1024 * 1024 + 5),
    lines[2],
    lines[3],
    huge(1024 * 1024 + 1),
  ])
  const files = await listLogFiles(dir)
  const diagnostics = new Diagnostics()
  const {entries, end} = await readLastEntries(files, 10, {diagnostics})
  assert.deepEqual(
    entries.map((e) => [e.entry.actor, e.line]),
    [
      ['user0', 2],
      ['user1', 3],
      ['user2', 5],
      ['user3', 6],
    ],
  )
  assert.deepEqual(diagnostics.counts(), {'too-long': 3})
  assert.match(diagnostics.lines()[0], /^warning: 3 lines over 1 MiB, first at audit-2026-11-02\.jsonl:7 \(1048577 bytes\)$/)
  const few = new Diagnostics()
  assert.deepEqual(
    (await readLastEntries(files, 1, {diagnostics: few})).entries.map((e) => e.line),
    [6],
  )
  assert.deepEqual(few.counts(), {'too-long': 1})
  assert.equal(end?.offset, statSync(files[0].path).size)
})

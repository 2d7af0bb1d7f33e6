import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import {basename, join} from 'node:path'
import {test} from 'node:test'

import {chainLine, GENESIS, serializeBody} from '../../src/chain/native.js'
import {compileFilter, type FilterSpec} from '../../src/events/filter.js'
import {countMatches} from '../../src/store/count.js'
import {Diagnostics} from '../../src/store/diagnostics.js'
import {listLogFiles} from '../../src/store/files.js'
import {queryEntries} from '../../src/store/query.js'
import {decodeFile, readEntryBatches, searchKey} from '../../src/store/reader.js'
import {recoveryDetails} from '../../src/store/recovery.js'
import {ACTORS, LEVELS, VALUES, writeMixedFile} from '../canonical-fuzz.js'
import {chainedLines, seededRandom, tempDir, writeLog} from '../helpers.js'

/** What the line reader finds and reports: the answer search --count must give on any cut. */
async function byReader(dir: string, spec: FilterSpec): Promise<{count: number; problems: unknown}> {
  const diagnostics = new Diagnostics()
  let count = 0
  for await (const batch of readEntryBatches(await listLogFiles(dir), {filter: compileFilter(spec), diagnostics})) count += batch.length
  return {count, problems: diagnostics.toJSON()}
}

async function byRanges(dir: string, spec: FilterSpec, rangeBytes: number): Promise<{count: number; problems: unknown}> {
  const diagnostics = new Diagnostics()
  const count = await countMatches(dir, {filter: spec, diagnostics, threads: 2, parallelBytes: 0, rangeBytes})
  return {count, problems: diagnostics.toJSON()}
}

const entry = (i: number, event: string, details: Record<string, unknown> = {}) => ({
  timestamp: `2026-11-02T10:${String(i % 60).padStart(2, '0')}:00.000Z`,
  event,
  details,
})

/** A log of every kind of line a range must read as the reader does: long lines (past the first read block, past the limit), CRLF, escapes, torn lines. */
function writeTrickyLog(dir: string, name = 'audit-2026-11-02.jsonl', overLong = true): void {
  const lines: string[] = []
  const push = (...more: string[]) => lines.push(...more)
  for (let i = 0; i < 400; i++) {
    push(...chainedLines([entry(i, i % 3 ? 'user.login' : 'auth.fail', {n: i})]).lines)
    if (i === 50) push(...chainedLines([entry(i, 'auth.fail', {blob: 'x'.repeat(300_000)})]).lines) // longer than a read block
    if (i === 60) push(...chainedLines([entry(i, 'south.fairy'), entry(i, 'auth.fair'), entry(i, 'xauth.fail')]).lines) // the key, not the needle
    if (i === 90) push(...chainedLines([entry(i, 'user.login', {blob: 'auth.fail '.repeat(70_000)})]).lines) // needles, no match
    if (i === 120 && overLong) push(`{"timestamp":"2026-11-02T10:00:00.000Z","event":"auth.fail","pad":"${'y'.repeat(1_200_000)}"}`) // over the limit
    if (i === 150) push(`${chainedLines([entry(i, 'auth.fail')]).lines[0]}\r`) // CRLF
    if (i === 200) push(chainedLines([entry(i, 'auth\u002efail')]).lines[0].replace('auth.fail', 'auth\\u002efail')) // escaped needle
    if (i === 250) push('{"timestamp":"2026-11-02T10:00:00.000Z","event":"auth.fail"') // malformed candidate
    if (i === 300) {
      // A torn line, accounted for by its recovery record on the next line.
      const fragment = Buffer.from('{"timestamp":"2026-11-02T10:00:00.000Z","event":"auth.f')
      push(fragment.toString())
      const body = serializeBody({
        timestamp: '2026-11-02T10:00:01.000Z',
        event: 'audit.recovery',
        level: 'warning',
        actor: 'auditkit',
        details: recoveryDetails('audit-2026-11-02.jsonl', lines.length, fragment),
        metadata: {},
      })
      push(chainLine(body, GENESIS).line)
    }
  }
  writeFileSync(join(dir, name), `${lines.join('\n')}\n`, {mode: 0o600})
}

test('search --count on ranges: long lines (past the first read block, past the limit), CRLF, escapes and torn lines', async () => {
  const dir = tempDir('count-')
  writeTrickyLog(dir)
  for (const spec of [{events: ['auth.fail']}, {events: ['auth.*']}, {events: ['audit.recovery']}, {}]) {
    const expected = await byReader(dir, spec)
    // The reader without needles decodes every line: the truth the needle searches must keep to.
    let decoded = 0
    for await (const batch of decodeFile((await listLogFiles(dir))[0], {filter: compileFilter(spec)}, new Diagnostics()))
      decoded += batch.length
    assert.equal(expected.count, decoded)
    assert.ok(expected.count > 0)
    for (const rangeBytes of [1000, 64 * 1024, 1 << 30]) assert.deepEqual(await byRanges(dir, spec, rangeBytes), expected, `${rangeBytes}`)
  }
  const {problems} = await byReader(dir, {events: ['auth.fail']})
  assert.match(JSON.stringify(problems), /too-long/)
  assert.match(JSON.stringify(problems), /malformed/)
})

test("search --count reads lines in the writer's form on their bytes as the reader reads them, on a file full of hostile lines", async () => {
  const {random, pick} = seededRandom(14)
  const times = [
    '2026-11-02T10:00:00.000Z',
    '2026-11-02T23:59:59.999Z',
    '2026-11-02T24:00:00.000Z',
    '2026-11-02T10:60:00.000Z',
    '2026-02-30T10:00:00.000Z',
  ]
  const events = ['auth.fail', 'auth.failed', 'xauth.fail', 'auth.fail.x', 'Auth.fail']
  const line = (): string => {
    const details: Record<string, unknown> = {}
    for (let k = Math.floor(random() * 4); k > 0; k--) details[pick(['ip', 'n', 'auth.fail', 'é'])] = pick(VALUES)
    const body = serializeBody({
      timestamp: pick(times),
      event: pick(events),
      level: pick(LEVELS) as 'info',
      actor: pick(ACTORS),
      details,
      metadata: random() < 0.8 ? {hostname: 'web-1', pid: 4000} : {deep: {x: [1]}},
    })
    const chained = random() < 0.7 ? chainLine(body, GENESIS).line : body
    // Bent into what only the full decoder reads: whitespace, a duplicate member, odd numbers, escapes, a raw control character.
    const bends = [
      (l: string) => l.replace('"event":', '"event" :'),
      (l: string) => l.replace('{"timestamp"', '{"event":"auth.fail","timestamp"'),
      (l: string) => l.replace('"pid":4000', pick(['"pid":4e3', '"pid":-0.0', '"pid":01', '"pid":1.'])),
      (l: string) => l.replace('"event":"auth', '"event":"\\u0061uth'),
      (l: string) => l.replace('"actor":"', '"actor":"\t'),
      (l: string) => `${l}\r`,
    ]
    return random() < 0.3 ? pick(bends)(chained) : chained
  }
  const dir = tempDir('count-bytes-')
  const path = join(dir, 'audit-2026-11-02.jsonl')
  writeMixedFile(path, 3000, {random, line, recoveryTime: () => '2026-11-02T11:00:00.000Z', unterminated: true})
  // Its lines that are not UTF-8 made UTF-8 (not JSON): every block of this copy is read on its bytes.
  const text = readFileSync(path).toString('latin1').replaceAll('{\xff\xfe}', '{no}')
  writeFileSync(join(dir, 'audit-2026-11-03.jsonl'), Buffer.from(text, 'latin1'), {mode: 0o600})
  // And in the first, lines in the writer's form but for a byte that is not UTF-8.
  writeFileSync(path, Buffer.from(text.replaceAll('"actor":"bob"', '"actor":"b\xffob"'), 'latin1'), {mode: 0o600})
  for (const spec of [
    {events: ['auth.fail']},
    {events: ['auth.*'], actors: ['alice', 'ünïcødé', '😀 ok']},
    {level: 'warning' as const},
    {},
  ]) {
    const expected = await byReader(dir, spec)
    assert.ok(expected.count > 100, JSON.stringify(spec))
    for (const rangeBytes of [400, 64 * 1024, 1 << 30]) assert.deepEqual(await byRanges(dir, spec, rangeBytes), expected, `${rangeBytes}`)
  }
  assert.match(JSON.stringify((await byReader(dir, {})).problems), /malformed.*utf8|utf8.*malformed/)
})

test('searchKey: a part of the needle starting on a character rare in log text, at least 4 long', () => {
  assert.equal(searchKey('auth.fail'), 'uth.fai')
  assert.equal(searchKey('ab'), 'ab')
  assert.equal(searchKey('10.0.4.17').length >= 4, true)
  for (const needle of ['auth.fail', 'config.change', 'policy.deny', 'mallory', '10.0.4.17', 'user.login', 'x.y'])
    assert.ok(needle.includes(searchKey(needle)) && searchKey(needle).length >= Math.min(4, needle.length), needle)
  assert.equal(searchKey('caf\u00e9 \u{1f600}'), 'caf\u00e9 \u{1f600}') // not ASCII: whole
})

/** What search prints, in order (file, line and text of each match), and the problems it reports. */
async function searched(dir: string, spec: FilterSpec, parallel: {threads: number; parallelBytes?: number; rangeBytes?: number}) {
  const diagnostics = new Diagnostics()
  const found: Array<[string, number, string]> = []
  for await (const batch of queryEntries(dir, {filter: spec, diagnostics, parallel}))
    for (const e of batch) found.push([basename(e.file), e.line, e.raw])
  return {found, problems: diagnostics.toJSON()}
}

test('search on ranges: the entries, line numbers and problems of the reader, in log order, on any cut', async () => {
  const dir = tempDir('find-')
  // A gzip part, the tricky log with its over-long line (the range holding it goes to the reader) and without.
  writeLog(dir, 'audit-2026-11-01.001.jsonl.gz', chainedLines([entry(1, 'auth.fail'), entry(2, 'user.login')]).lines)
  writeTrickyLog(dir, 'audit-2026-11-01.jsonl')
  writeTrickyLog(dir, 'audit-2026-11-02.jsonl', false)
  // Lines that are not UTF-8 or JSON, blank lines, and a last line without its LF.
  const more = chainedLines([entry(3, 'auth.fail'), entry(4, 'auth.fail')]).lines
  const bytes = Buffer.concat([
    Buffer.from(`${more[0]}\n\n{"event":"auth.fail",\n`),
    Buffer.from([0x7b, 0xff, 0x61, 0x75, 0x74, 0x68, 0x2e, 0x66, 0x61, 0x69, 0x6c, 0x0a]),
    Buffer.from(`${more[1]}\n   \n${more[0].slice(0, 50)}`),
  ])
  writeFileSync(join(dir, 'audit-2026-11-03.jsonl'), bytes, {mode: 0o600})
  for (const spec of [{events: ['auth.fail']}, {events: ['auth.*']}, {events: ['audit.recovery']}, {level: 'info' as const}, {}]) {
    const expected = await searched(dir, spec, {threads: 1})
    assert.ok(expected.found.length > 0)
    for (const rangeBytes of [700, 5000, 64 * 1024, 1 << 30]) {
      const got = await searched(dir, spec, {threads: 2, parallelBytes: 0, rangeBytes})
      assert.deepEqual(got, expected, `${JSON.stringify(spec)} cut every ${rangeBytes} bytes`)
    }
  }
  const {problems} = await searched(dir, {}, {threads: 1})
  for (const kind of ['too-long', 'malformed', 'utf8', 'unterminated']) assert.match(JSON.stringify(problems), new RegExp(kind))
})

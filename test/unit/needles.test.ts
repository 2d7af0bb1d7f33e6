import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'

import {compileFilter, type FilterSpec} from '../../src/events/filter.js'
import {decodeLine} from '../../src/store/decode.js'
import {candidateLines, readEntries} from '../../src/store/reader.js'
import {chainedLines, tempDir, writeLog} from '../helpers.js'

test('candidateLines: lines holding a needle or a backslash, with their indexes, and the line count', () => {
  const block = Buffer.from('aa x\nbb\ncc needle\ndd \\u0061\nee\nneedle ff\n')
  const {ranges, lines, endsTorn} = candidateLines(block, [Buffer.from('needle')])
  assert.equal(lines, 6)
  // The last candidate does not end like an entry: the next block may start with its recovery record.
  assert.equal(endsTorn, true)
  assert.deepEqual(
    ranges.map(({start, end, index}) => [block.subarray(start, end).toString(), index]),
    [
      ['cc needle', 2],
      ['dd \\u0061', 3],
      ['needle ff', 5],
    ],
  )
  assert.deepEqual(candidateLines(Buffer.from('a\nb\n'), [Buffer.from('zz')]), {ranges: [], lines: 2, endsTorn: false})
  // After such a block, a first line that is a recovery record is a candidate; any other is not.
  const record = Buffer.from('{"event":"audit.recovery"}\nzz}\n')
  assert.deepEqual(candidateLines(record, [Buffer.from('needle')], true).ranges, [{start: 0, end: 26, index: 0}])
  assert.deepEqual(candidateLines(record, [Buffer.from('needle')], false).ranges, [])
  assert.deepEqual(candidateLines(Buffer.from('aa}\nneedle}\n'), [Buffer.from('needle')], true).ranges, [{start: 4, end: 11, index: 1}])
})

test('reading with needles skips lines undecoded yet keeps every match, with the right line numbers', async () => {
  const dir = tempDir()
  const events = ['auth.fail', 'auth.login', 'api.request', 'session.start']
  const actors = ['alice', 'bob', 'mallory']
  const specs = Array.from({length: 3000}, (_, i) => ({
    timestamp: new Date(Date.UTC(2026, 10, 2, 0, 0, i)).toISOString(),
    event: events[(i * 7) % 4],
    actor: actors[(i * 5) % 3],
    // Some lines carry escapes, which may hide a needle's characters from a byte search.
    details: i % 97 === 0 ? {path: 'C:\\temp', who: 'mallory'} : {n: i},
  }))
  const {lines} = chainedLines(specs)
  // One line spells its event with an escape: only a parse can tell it is auth.fail.
  lines[1501] = lines[1501]
    .replace('"event":"auth.login"', '"event":"auth.f\\u0061il"')
    .replace('"event":"api.request"', '"event":"auth.f\\u0061il"')
    .replace('"event":"session.start"', '"event":"auth.f\\u0061il"')
  assert.match(lines[1501], /auth\.f\\u0061il/)
  writeLog(dir, 'audit-2026-11-02.jsonl', lines)

  const all = readFileSync(join(dir, 'audit-2026-11-02.jsonl'), 'utf8').split('\n').slice(0, -1)
  for (const spec of [
    {events: ['auth.fail']},
    {events: ['auth.*'], actors: ['mallory']},
    {actors: ['bob', 'mallory']},
    {where: ['details.who=mallory']},
  ] as FilterSpec[]) {
    const filter = compileFilter(spec)
    const expected: Array<[number, string]> = []
    all.forEach((raw, i) => {
      const decoded = decodeLine(raw)
      assert.ok(decoded.ok)
      if (filter.matches({entry: decoded.entry, time: decoded.time, file: '', line: i + 1, raw, profile: 'native'}))
        expected.push([i + 1, decoded.entry.event])
    })
    const got: Array<[number, string]> = []
    for await (const e of readEntries(dir, {filter})) got.push([e.line, e.entry.event])
    assert.ok(expected.length > 0, JSON.stringify(spec))
    assert.deepEqual(got, expected, JSON.stringify(spec))
  }
})

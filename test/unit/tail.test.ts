import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'

import {Diagnostics} from '../../src/store/diagnostics.js'
import {listLogFiles} from '../../src/store/files.js'
import {readLastEntries} from '../../src/store/tail.js'
import {chainedLines, tempDir, writeLog} from '../helpers.js'

const good = (n: number) =>
  chainedLines(
    Array.from({length: n}, (_, i) => ({
      timestamp: new Date(Date.parse('2026-11-02T10:00:00.000Z') + i * 1000).toISOString(),
      event: 'auth.login',
      actor: `user${i}`,
    })),
  ).lines

test('without line numbers, entries carry their rank from the end; problems are still numbered from the start', async () => {
  const dir = tempDir()
  const lines = good(4)
  writeLog(dir, 'audit-2026-11-02.jsonl', [lines[0], 'not json', lines[1], lines[2], lines[3]])
  const files = await listLogFiles(dir)
  const diagnostics = new Diagnostics()
  const {entries} = await readLastEntries(files, 2, {diagnostics, numberLines: false})
  assert.deepEqual(
    entries.map((e) => [e.entry.actor, e.line]),
    [
      ['user2', -2],
      ['user3', -1],
    ],
  )
  // Only the lines from the earliest entry shown on are decoded: the bad line before them is not met.
  assert.deepEqual(diagnostics.lines(), [])
  const four = new Diagnostics()
  await readLastEntries(files, 4, {diagnostics: four, numberLines: false})
  assert.match(four.lines()[0], /at audit-2026-11-02\.jsonl:2 /)
  const all = new Diagnostics()
  const every = await readLastEntries(files, 10, {diagnostics: all, numberLines: false})
  assert.deepEqual(
    every.entries.map((e) => e.line),
    [-5, -3, -2, -1],
  )
  assert.match(all.lines()[0], /at audit-2026-11-02\.jsonl:2 /)
})

test('a file whose first line is blank, and every entry asked for, ends (the split once restarted from the block end)', async () => {
  const dir = tempDir()
  const lines = good(3)
  writeFileSync(join(dir, 'audit-2026-11-02.jsonl'), `\n${lines.join('\n')}\n`, {mode: 0o600})
  const {entries} = await readLastEntries(await listLogFiles(dir), 10)
  assert.deepEqual(
    entries.map((e) => e.line),
    [2, 3, 4],
  )
})

test('many entries across gzip and plain files: the last n, in order', async () => {
  const dir = tempDir()
  const {lines} = chainedLines(
    Array.from({length: 3000}, (_, i) => ({
      timestamp: new Date(Date.parse('2026-11-02T10:00:00.000Z') + i).toISOString(),
      event: 'a.b',
      actor: `u${i}`,
    })),
  )
  writeLog(dir, 'audit-2026-11-02.001.jsonl.gz', lines.slice(0, 2500))
  writeLog(dir, 'audit-2026-11-02.jsonl', lines.slice(2500))
  const {entries} = await readLastEntries(await listLogFiles(dir), 2200)
  assert.equal(entries.length, 2200)
  assert.deepEqual(
    entries.map((e) => e.entry.actor),
    Array.from({length: 2200}, (_, i) => `u${800 + i}`),
  )
  assert.equal(entries[0].line, 801)
})

test('with a filter that skips lines and bad lines among them: the last n matches, and the bad lines from the earliest shown on', async () => {
  const dir = tempDir()
  const lines = good(300)
  // A bad line every 37 lines, and a filter matching one actor in three: slices grow until enough match.
  const withBad = lines.flatMap((line, i) => (i % 37 === 5 ? ['{"torn":', line] : [line]))
  writeLog(dir, 'audit-2026-11-02.jsonl', withBad)
  const files = await listLogFiles(dir)
  const {compileFilter} = await import('../../src/events/filter.js')
  const filter = compileFilter({actors: Array.from({length: 100}, (_, i) => `user${i * 3}`)})
  for (const n of [1, 7, 40, 100, 1000]) {
    const diagnostics = new Diagnostics()
    const {entries} = await readLastEntries(files, n, {filter, diagnostics})
    const expected = withBad
      .map((text, i) => ({text, line: i + 1}))
      .filter(({text}) => text.startsWith('{"timestamp"') && Number(/user(\d+)/.exec(text)?.[1]) % 3 === 0)
      .slice(-n)
    assert.deepEqual(
      entries.map((e) => e.line),
      expected.map((e) => e.line),
    )
    // Every bad line from the earliest entry shown on is counted (a slice may reach further back), and
    // one of them is named by its number from the start.
    const first = expected[0].line
    const bad = withBad.flatMap((text, i) => (text === '{"torn":' ? [i + 1] : []))
    const count = diagnostics.counts().malformed ?? 0
    assert.ok(count >= bad.filter((line) => line > first).length && count <= bad.length, `${n}: ${count}`)
    if (count > 0) assert.ok(bad.includes(Number(/jsonl:(\d+)/.exec(diagnostics.lines()[0])?.[1])), diagnostics.lines()[0])
  }
})

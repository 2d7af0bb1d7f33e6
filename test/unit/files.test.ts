import assert from 'node:assert/strict'
import {chmodSync, mkdirSync, readdirSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'

import {compareLogFiles, currentForms, listLogFiles, LogDirectoryError, parseLogFileName, plainName} from '../../src/store/files.js'
import {rotateIntoPart} from '../../src/store/rotate.js'
import {tempDir} from '../helpers.js'

test('parseLogFileName recognises daily, numbered, HHMMSS and gzipped names only', () => {
  assert.deepEqual(parseLogFileName('audit-2026-11-02.jsonl'), {
    name: 'audit-2026-11-02.jsonl',
    day: '2026-11-02',
    part: Number.POSITIVE_INFINITY,
    gzip: false,
    age: false,
  })
  assert.equal(parseLogFileName('audit-2026-11-02.003.jsonl.gz')?.part, 3)
  assert.equal(parseLogFileName('audit-2026-11-02.003.jsonl.gz')?.gzip, true)
  assert.equal(parseLogFileName('audit-2026-11-02.081503.jsonl')?.part, 81_503)
  for (const bad of [
    'audit-2026-11-02.json',
    'audit-2026-11-02.jsonl.bak',
    'audit-2026-13-45.jsonl',
    'audit-2026-11-02.1.jsonl',
    'audit-2026-11-02.jsonl.tmp',
    'other-2026-11-02.jsonl',
    '.audit-2026-11-02.jsonl.swp',
    'audit-latest.jsonl',
  ]) {
    assert.equal(parseLogFileName(bad), undefined, bad)
  }
})

test('files are ordered by day, then numbered parts ascending, then the live file; never by mtime', async () => {
  const dir = tempDir()
  const names = [
    'audit-2026-11-03.jsonl',
    'audit-2026-11-02.jsonl',
    'audit-2026-11-02.002.jsonl.gz',
    'audit-2026-11-02.001.jsonl.gz',
    'audit-2026-11-02.010.jsonl',
    'audit-2026-11-01.235959.jsonl',
    'audit-2026-11-01.080000.jsonl',
    'audit-2026-11-01.jsonl',
    'notes.txt',
    'audit-2026-11-02.jsonl.bak',
    'audit.lock',
  ]
  // mtimes deliberately the reverse of the chain order
  names.forEach((name, i) => {
    const path = join(dir, name)
    writeFileSync(path, '')
    const t = new Date(Date.UTC(2030, 0, 1) - i * 3_600_000)
    utimesSync(path, t, t)
  })
  mkdirSync(join(dir, 'audit-2026-11-04.jsonl.d'))
  const files = await listLogFiles(dir)
  assert.deepEqual(
    files.map((f) => f.name),
    [
      'audit-2026-11-01.080000.jsonl',
      'audit-2026-11-01.235959.jsonl',
      'audit-2026-11-01.jsonl',
      'audit-2026-11-02.001.jsonl.gz',
      'audit-2026-11-02.002.jsonl.gz',
      'audit-2026-11-02.010.jsonl',
      'audit-2026-11-02.jsonl',
      'audit-2026-11-03.jsonl',
    ],
  )
  assert.equal(files[0].path, join(dir, 'audit-2026-11-01.080000.jsonl'))
})

test('a part present both plain and gzipped (compression in progress) is listed once, plain', async () => {
  const dir = tempDir()
  for (const name of ['audit-2026-11-02.001.jsonl', 'audit-2026-11-02.001.jsonl.gz', 'audit-2026-11-02.jsonl'])
    writeFileSync(join(dir, name), '')
  const files = await listLogFiles(dir)
  assert.deepEqual(
    files.map((f) => f.name),
    ['audit-2026-11-02.001.jsonl', 'audit-2026-11-02.jsonl'],
  )
  assert.equal(
    compareLogFiles(parseLogFileName('audit-2026-11-02.001.jsonl')!, parseLogFileName('audit-2026-11-02.001.jsonl.gz')!) < 0,
    true,
  )
})

test('with a time range, files are skipped by the date in their name, without being opened', async () => {
  const dir = tempDir()
  for (const day of ['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-04']) writeFileSync(join(dir, `audit-${day}.jsonl`), '')
  // unreadable files: opening them would fail, so being listed proves nothing was opened
  for (const name of ['audit-2026-11-01.jsonl', 'audit-2026-11-04.jsonl']) chmodSync(join(dir, name), 0)
  const since = Date.parse('2026-11-02T12:00:00Z')
  const until = Date.parse('2026-11-03T12:00:00Z')
  assert.deepEqual(
    (await listLogFiles(dir, {since, until})).map((f) => f.day),
    ['2026-11-02', '2026-11-03'],
  )
  // a range starting at midnight still takes the previous day's file (entries stamped just before its rotation)
  assert.deepEqual(
    (await listLogFiles(dir, {since: Date.parse('2026-11-03T00:00:00Z')})).map((f) => f.day),
    ['2026-11-02', '2026-11-03', '2026-11-04'],
  )
  assert.deepEqual(
    (await listLogFiles(dir, {until: Date.parse('2026-11-02T00:00:00Z')})).map((f) => f.day),
    ['2026-11-01', '2026-11-02'],
  )
  assert.deepEqual(
    (await listLogFiles(dir, {since: Date.parse('2026-11-05T00:10:00Z')})).map((f) => f.day),
    [],
  )
})

test('a missing directory, a file given as directory and an unreadable directory are LogDirectoryErrors', async () => {
  const dir = tempDir()
  await assert.rejects(listLogFiles(join(dir, 'nope')), (e: Error) => e instanceof LogDirectoryError && /no such directory/.test(e.message))
  writeFileSync(join(dir, 'f'), '')
  await assert.rejects(listLogFiles(join(dir, 'f')), (e: Error) => e instanceof LogDirectoryError && /not a directory/.test(e.message))
  const locked = join(dir, 'locked')
  mkdirSync(locked, {mode: 0})
  if (process.getuid?.() !== 0) {
    await assert.rejects(listLogFiles(locked), (e: Error) => e instanceof LogDirectoryError && /permission denied/.test(e.message))
  }
})

test('an empty directory lists no files', async () => {
  assert.deepEqual(await listLogFiles(tempDir()), [])
})

test('rotateIntoPart never takes the number of a part whose compression the listing missed', () => {
  const dir = tempDir()
  const live = join(dir, 'audit-2026-03-01.jsonl')
  writeFileSync(live, 'live\n')
  // Part 1 was gzipped while the directory was listed: the listing showed neither name.
  writeFileSync(join(dir, 'audit-2026-03-01.001.jsonl.gz'), 'gz')
  const part = rotateIntoPart(
    dir,
    {path: live, name: 'audit-2026-03-01.jsonl', day: '2026-03-01', part: Number.POSITIVE_INFINITY, gzip: false, age: false},
    [],
  )
  assert.equal(part, join(dir, 'audit-2026-03-01.002.jsonl'))
  assert.deepEqual(readdirSync(dir).sort(), ['audit-2026-03-01.001.jsonl.gz', 'audit-2026-03-01.002.jsonl'])
})

test('encrypted names: .age and .gz.age parts, their forms in order, one per part in a listing', async () => {
  assert.deepEqual(parseLogFileName('audit-2026-11-02.003.jsonl.gz.age'), {
    name: 'audit-2026-11-02.003.jsonl.gz.age',
    day: '2026-11-02',
    part: 3,
    gzip: true,
    age: true,
  })
  assert.equal(parseLogFileName('audit-2026-11-02.jsonl.age')?.age, true)
  assert.equal(parseLogFileName('audit-2026-11-02.003.jsonl.age.gz'), undefined)
  assert.equal(parseLogFileName('audit-2026-11-02.003.jsonl.age.1234-abcd.tmp'), undefined)
  assert.equal(plainName('audit-2026-11-02.003.jsonl.gz.age'), 'audit-2026-11-02.003.jsonl')
  const dir = tempDir()
  const plain = parseLogFileName('audit-2026-11-02.003.jsonl')!
  assert.deepEqual(
    currentForms({...plain, path: join(dir, plain.name)}).map((f) => [f.path, f.gzip, f.age]),
    [
      [join(dir, 'audit-2026-11-02.003.jsonl'), false, false],
      [join(dir, 'audit-2026-11-02.003.jsonl.gz'), true, false],
      [join(dir, 'audit-2026-11-02.003.jsonl.gz.age'), true, true],
      [join(dir, 'audit-2026-11-02.003.jsonl.age'), false, true],
    ],
  )
  // Mid-encryption both forms exist: the earlier, complete one is listed.
  for (const name of [
    'audit-2026-11-02.001.jsonl.gz',
    'audit-2026-11-02.001.jsonl.gz.age',
    'audit-2026-11-02.002.jsonl.age',
    'audit-2026-11-02.jsonl',
  ])
    writeFileSync(join(dir, name), '')
  assert.deepEqual(
    (await listLogFiles(dir)).map((f) => f.name),
    ['audit-2026-11-02.001.jsonl.gz', 'audit-2026-11-02.002.jsonl.age', 'audit-2026-11-02.jsonl'],
  )
})

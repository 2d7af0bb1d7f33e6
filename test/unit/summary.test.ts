import assert from 'node:assert/strict'
import {readdirSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'

import {compileFilter} from '../../src/events/filter.js'
import {Diagnostics} from '../../src/store/diagnostics.js'
import {listLogFiles} from '../../src/store/files.js'
import {readEntries} from '../../src/store/reader.js'
import {SummaryAggregate} from '../../src/summary/aggregate.js'
import {summarize} from '../../src/summary/summarize.js'
import {chainedLines, type EntrySpec, tempDir, writeLog} from '../helpers.js'

const FIXTURE: EntrySpec[] = [
  {timestamp: '2026-11-01T09:10:00.000Z', event: 'auth.login', actor: 'alice', details: {ip: '10.0.0.1'}},
  {timestamp: '2026-11-01T09:20:00.000Z', event: 'auth.fail', level: 'warning', actor: 'mallory', details: {ip: '10.0.0.9'}},
  {timestamp: '2026-11-01T09:30:00.000Z', event: 'api.request', actor: 'alice', details: {model: 'llama3', ip: '10.0.0.1'}},
  {timestamp: '2026-11-02T14:00:00.000Z', event: 'api.request', actor: 'bob', details: {model: 'llama3', client_ip: '10.0.0.2'}},
  {timestamp: '2026-11-02T14:05:00.000Z', event: 'api.request', level: 'error', actor: 'bob', details: {model: 'mistral'}},
  {timestamp: '2026-11-02T14:10:00.000Z', event: 'policy.deny', actor: 'carol'},
  {timestamp: '2026-11-02T14:15:00.000Z', event: 'api.request', actor: 'bob', details: {model: 'llama3'}},
  {timestamp: '2026-11-02T15:00:00.000Z', event: 'session.end', level: 'debug', actor: 'alice'},
]

function fixtureDir(): string {
  const dir = tempDir()
  const {lines, head} = chainedLines(FIXTURE.slice(0, 3))
  const rest = chainedLines(FIXTURE.slice(3), head).lines
  writeLog(dir, 'audit-2026-11-01.jsonl', lines)
  writeLog(dir, 'audit-2026-11-02.001.jsonl.gz', rest.slice(0, 2))
  writeLog(dir, 'audit-2026-11-02.jsonl', [...rest.slice(2), 'not json'])
  return dir
}

test('aggregate figures on a small fixture', async () => {
  const dir = fixtureDir()
  const diagnostics = new Diagnostics()
  const r = await summarize(dir, {filter: {}, diagnostics})
  assert.equal(r.total, 8)
  assert.deepEqual(r.files, {read: 3, names: ['audit-2026-11-01.jsonl', 'audit-2026-11-02.001.jsonl.gz', 'audit-2026-11-02.jsonl']})
  assert.deepEqual(r.range.present, {first: '2026-11-01T09:10:00.000Z', last: '2026-11-02T15:00:00.000Z'})
  assert.deepEqual(r.range.selected, {since: null, until: null})
  assert.deepEqual(r.by_event, [
    {name: 'api.request', count: 4, share: 50},
    {name: 'auth.fail', count: 1, share: 12.5},
    {name: 'auth.login', count: 1, share: 12.5},
    {name: 'policy.deny', count: 1, share: 12.5},
    {name: 'session.end', count: 1, share: 12.5},
  ])
  assert.deepEqual(r.by_level, [
    {name: 'debug', count: 1, share: 12.5},
    {name: 'info', count: 5, share: 62.5},
    {name: 'warning', count: 1, share: 12.5},
    {name: 'error', count: 1, share: 12.5},
  ])
  assert.deepEqual(
    r.top_actors.map((a) => [a.name, a.count]),
    [
      ['alice', 3],
      ['bob', 3],
      ['carol', 1],
      ['mallory', 1],
    ],
  )
  assert.equal(r.unique_actors, 4)
  assert.equal(r.unique_ips, 3)
  assert.equal(r.failures.total, 3) // auth.fail, the error, policy.deny
  assert.equal(r.failures.error_rate, 37.5)
  assert.deepEqual(
    r.failures.latest.map((f) => `${f.event}@${f.file}:${f.line}`),
    ['policy.deny@audit-2026-11-02.jsonl:1', 'api.request@audit-2026-11-02.001.jsonl.gz:2', 'auth.fail@audit-2026-11-01.jsonl:2'],
  )
  assert.deepEqual(r.peak_hour, {hour: '2026-11-02T14:00:00.000Z', count: 4})
  assert.deepEqual(r.per_day, [
    {day: '2026-11-01', count: 3},
    {day: '2026-11-02', count: 5},
  ])
  assert.deepEqual(r.models, {
    requests: 4,
    usage_percent: 50,
    by_model: [
      {name: 'llama3', count: 3, share: 75},
      {name: 'mistral', count: 1, share: 25},
    ],
  })
  assert.deepEqual(r.problems, {malformed: 1})
  assert.equal(diagnostics.total, 1)
})

test('a selected range: figures for the range, the present range still the whole log', async () => {
  const dir = fixtureDir()
  const r = await summarize(dir, {filter: {since: Date.parse('2026-11-02T00:00:00Z'), until: Date.parse('2026-11-02T14:12:00Z')}})
  assert.equal(r.total, 3)
  assert.deepEqual(r.range.selected, {since: '2026-11-02T00:00:00.000Z', until: '2026-11-02T14:12:00.000Z'})
  assert.deepEqual(r.range.present, {first: '2026-11-01T09:10:00.000Z', last: '2026-11-02T15:00:00.000Z'})
  const byEvent = await summarize(dir, {filter: {events: ['auth.*']}})
  assert.equal(byEvent.total, 2)
  assert.equal(byEvent.models, null)
})

test('merging aggregates of parts equals aggregating the whole', async () => {
  const dir = fixtureDir()
  const whole = new SummaryAggregate()
  const parts = [new SummaryAggregate(), new SummaryAggregate(), new SummaryAggregate()]
  const files = await listLogFiles(dir)
  for await (const e of readEntries(dir)) {
    whole.add(e.entry, e.time, e.file, e.line)
    parts[files.findIndex((f) => f.path === e.file)].add(e.entry, e.time, e.file, e.line)
  }
  const merged = new SummaryAggregate()
  // through the serialised form, as the cache and the workers pass them
  for (const part of parts) merged.merge(SummaryAggregate.fromJSON(JSON.parse(JSON.stringify(part.toJSON()))))
  assert.deepEqual(normalise(merged.toJSON()), normalise(whole.toJSON()))
  // an empty part changes nothing
  merged.merge(new SummaryAggregate())
  assert.deepEqual(normalise(merged.toJSON()), normalise(whole.toJSON()))
})

/** Map order depends on insertion; compare contents. */
function normalise(data: ReturnType<SummaryAggregate['toJSON']>) {
  const sort = <T>(a: T[]) => [...a].sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1))
  return {
    ...data,
    byEvent: sort(data.byEvent),
    byLevel: sort(data.byLevel),
    byActor: sort(data.byActor),
    ips: sort(data.ips),
    bySlot: sort(data.bySlot),
    byModel: sort(data.byModel),
  }
}

/** Sets every cached total of a file to a marker value, so a hit shows in the report. */
function poisonCache(cacheDir: string, name: string): void {
  const [file] = readdirSync(cacheDir).filter((f) => f.endsWith('.json'))
  const path = join(cacheDir, file)
  const data = JSON.parse(readFileSync(path, 'utf8'))
  assert.ok(data.files[name], `${name} is cached`)
  data.files[name].aggregate.total += 1000
  writeFileSync(path, JSON.stringify(data))
}

test('cache: a hit when a file is unchanged; a miss after an edit that restores size and mtime, and after a rename', async () => {
  const dir = fixtureDir()
  const cacheDir = tempDir('cache-')
  const whole = new Date(Math.floor(statSync(join(dir, 'audit-2026-11-01.jsonl')).mtimeMs / 1000) * 1000)
  utimesSync(join(dir, 'audit-2026-11-01.jsonl'), whole, whole)
  const run = async () => (await summarize(dir, {filter: {}, cacheDir})).total
  assert.equal(await run(), 8)
  poisonCache(cacheDir, 'audit-2026-11-01.jsonl')
  assert.equal(await run(), 1008, 'unchanged file: the cached aggregate is used')

  // same size, same mtime, different content
  const path = join(dir, 'audit-2026-11-01.jsonl')
  const before = statSync(path)
  const text = readFileSync(path, 'utf8')
  writeFileSync(path, text.replace('"actor":"mallory"', '"actor":"mallorz"'))
  const mtime = new Date(Math.floor(before.mtimeMs / 1000) * 1000)
  utimesSync(path, mtime, mtime)
  const set = statSync(path)
  // restore the same (whole-millisecond) mtime before the first run too, so both runs see it exactly
  assert.equal(set.size, before.size)
  assert.equal(set.mtimeMs, mtime.getTime())
  const edited = await summarize(dir, {filter: {}, cacheDir})
  assert.equal(edited.total, 8, 'edited file: read afresh')
  assert.ok(edited.top_actors.some((a) => a.name === 'mallorz'))

  poisonCache(cacheDir, 'audit-2026-11-01.jsonl')
  assert.equal(await run(), 1008)
  renameSync(path, join(dir, 'audit-2026-10-31.jsonl'))
  const renamed = await summarize(dir, {filter: {}, cacheDir})
  assert.equal(renamed.total, 8, 'renamed file: read afresh')
  assert.ok(renamed.files.names.includes('audit-2026-10-31.jsonl'))
})

test('cache: a file whose day is only partly in the range is not served from the whole-file cache', async () => {
  const dir = fixtureDir()
  const cacheDir = tempDir('cache-')
  assert.equal((await summarize(dir, {filter: {}, cacheDir})).total, 8)
  const r = await summarize(dir, {filter: {since: Date.parse('2026-11-02T14:07:00Z')}, cacheDir})
  assert.equal(r.total, 3)
  const filtered = await summarize(dir, {filter: {actors: ['bob']}, cacheDir})
  assert.equal(filtered.total, 3)
})

test('cache: a run over a range keeps the other days cached, so a whole-log run after it stays warm', async () => {
  const dir = fixtureDir()
  const cacheDir = tempDir('cache-')
  assert.equal((await summarize(dir, {filter: {}, cacheDir})).total, 8)
  poisonCache(cacheDir, 'audit-2026-11-01.jsonl')
  // a range that leaves out 2026-11-01: its cached aggregate must survive the save
  await summarize(dir, {filter: {since: Date.parse('2026-11-02T12:00:00Z')}, cacheDir})
  assert.equal((await summarize(dir, {filter: {}, cacheDir})).total, 1008, 'the out-of-range day is still served from the cache')
})

test('results are identical on one thread and on two (workers), with problems counted once', async () => {
  const dir = tempDir()
  let head: string | undefined
  const days = ['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-04']
  for (const [d, day] of days.entries()) {
    const specs: EntrySpec[] = Array.from({length: 400}, (_, i) => ({
      timestamp: new Date(Date.parse(`${day}T00:00:00Z`) + i * 97_000).toISOString(),
      event: ['auth.login', 'auth.fail', 'api.request', 'policy.deny'][(i + d) % 4],
      level: (['info', 'warning', 'info', 'error'] as const)[(i * 7 + d) % 4],
      actor: `user${(i * 13 + d) % 17}`,
      details: {ip: `10.0.${d}.${i % 50}`, ...(i % 3 === 0 ? {model: `m${i % 5}`} : {})},
    }))
    const out = chainedLines(specs, head)
    head = out.head
    writeLog(dir, `audit-${day}${d % 2 ? '.001.jsonl.gz' : '.jsonl'}`, [...out.lines, `broken line ${d}`])
  }
  const one = await summarize(dir, {filter: {}, threads: 1})
  const two = await summarize(dir, {filter: {}, threads: 2, parallelBytes: 1})
  const twoFiltered = await summarize(dir, {
    filter: {events: ['auth.*'], since: Date.parse('2026-11-01T05:00:00Z')},
    threads: 2,
    parallelBytes: 1,
  })
  const oneFiltered = await summarize(dir, {filter: {events: ['auth.*'], since: Date.parse('2026-11-01T05:00:00Z')}, threads: 1})
  assert.equal(one.total, 1600)
  assert.deepEqual(two, one)
  assert.deepEqual(twoFiltered, oneFiltered)
  assert.deepEqual(one.problems, {malformed: 4})
  // the filter's figures match a plain read
  let n = 0
  for await (const _ of readEntries(dir, {filter: compileFilter({events: ['auth.*'], since: Date.parse('2026-11-01T05:00:00Z')})})) n++
  assert.equal(oneFiltered.total, n)
})

import assert from 'node:assert/strict'
import {appendFileSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'

import {chainLine, GENESIS, serializeBody} from '../../src/chain/native.js'
import {Diagnostics} from '../../src/store/diagnostics.js'
import {recoveryDetails} from '../../src/store/recovery.js'
import {summarize} from '../../src/summary/summarize.js'
import {chainedLines, type EntrySpec, tempDir, writeLog} from '../helpers.js'

const NAME = 'audit-2026-11-02.jsonl'
const EVENTS = ['auth.login', 'auth.fail', 'api.request', 'policy.deny', 'session.end']
const ACTORS = ['alice', 'bob', 'carol', 'mallory']

/** `count` entries from the `from`-th on, a few seconds apart, with addresses, models and failures. */
function entries(from: number, count: number): EntrySpec[] {
  return Array.from({length: count}, (_, i) => {
    const n = from + i
    return {
      timestamp: new Date(Date.parse('2026-11-02T00:00:00.000Z') + n * 7_000).toISOString(),
      event: EVENTS[n % EVENTS.length],
      level: n % 11 === 0 ? 'error' : 'info',
      actor: ACTORS[n % ACTORS.length],
      details: n % 3 === 0 ? {ip: `10.0.${n % 7}.${n % 13}`, model: n % 2 ? 'llama3' : 'mistral'} : {path: '/x'},
    }
  })
}

const lines = (from: number, count: number) => `${chainedLines(entries(from, count)).lines.join('\n')}\n`

/** Sets the cached total of the file to a marker value, so a use of the cached start shows. */
function poisonCache(cacheDir: string): void {
  const [file] = readdirSync(cacheDir).filter((f) => f.endsWith('.json'))
  const path = join(cacheDir, file)
  const data = JSON.parse(readFileSync(path, 'utf8'))
  assert.ok(data.files[NAME], `${NAME} is cached`)
  data.files[NAME].aggregate.total += 1000
  writeFileSync(path, JSON.stringify(data))
}

function setup() {
  const dir = tempDir()
  const cacheDir = tempDir('cache-')
  const path = writeLog(dir, NAME, chainedLines(entries(0, 3000)).lines)
  /** The report and problems with the cache (on two threads, in small ranges), and without it. */
  const both = async () => {
    const cachedProblems = new Diagnostics()
    const freshProblems = new Diagnostics()
    const options = {filter: {}, threads: 2, parallelBytes: 0, rangeBytes: 50_000}
    const cached = await summarize(dir, {...options, cacheDir, diagnostics: cachedProblems})
    const fresh = await summarize(dir, {...options, diagnostics: freshProblems})
    return {cached, fresh, cachedProblems: cachedProblems.toJSON(), freshProblems: freshProblems.toJSON()}
  }
  const same = async (what: string) => {
    const r = await both()
    assert.deepEqual(r.cached, r.fresh, what)
    assert.deepEqual(r.cachedProblems, r.freshProblems, what)
    return r.fresh
  }
  return {path, cacheDir, both, same}
}

test('cache: what is appended to a file is read from where the last run ended, each entry counted once', async () => {
  const {path, cacheDir, both, same} = setup()
  assert.equal((await same('first run')).total, 3000)

  appendFileSync(path, lines(3000, 500))
  assert.equal((await same('after an append')).total, 3500)

  // The cached start is what is used: a marker in it shows, and the appended entries come once.
  poisonCache(cacheDir)
  appendFileSync(path, lines(3500, 20))
  const {cached, fresh} = await both()
  assert.equal(fresh.total, 3520)
  assert.equal(cached.total, 4520, 'the cached start plus the 20 appended entries')
})

test('cache: an append after a torn or bad last line reads as a fresh run does (recovery included)', async () => {
  const {path, same} = setup()
  await same('first run')
  // A line being written: no final LF yet.
  const next = lines(3000, 1)
  appendFileSync(path, next.slice(0, 40))
  const torn = await same('unterminated last line')
  assert.equal(torn.problems.unterminated, 1)
  appendFileSync(path, `${next.slice(40)}${lines(3001, 10)}`)
  assert.equal((await same('the line finished, more after it')).total, 3011)

  // A torn line left by a crash, then (next run) its recovery record: recovered, no problem.
  const fragment = lines(3011, 1).slice(0, 60)
  appendFileSync(path, `${fragment}\n`)
  assert.equal((await same('a bad last line')).problems.malformed, 1)
  const lineNo = readFileSync(path, 'utf8').split('\n').length - 1
  const record = serializeBody({
    timestamp: '2026-11-02T23:00:00.000Z',
    event: 'audit.recovery',
    level: 'warning',
    actor: 'auditkit',
    details: recoveryDetails(NAME, lineNo, Buffer.from(fragment)),
    metadata: {},
  })
  appendFileSync(path, `${chainLine(record, GENESIS).line}\n${lines(3012, 5)}`)
  const recovered = await same('its recovery record appended')
  assert.equal(recovered.problems.malformed, undefined)
  assert.equal(recovered.total, 3011 + 1 + 5)
})

test('cache: a file rewritten in place (same inode) is read afresh, longer or not', async () => {
  const {path, cacheDir, both} = setup()
  await both()
  const inode = statSync(path).ino
  for (const rewrite of [lines(100, 3200), lines(0, 2999) + lines(7, 1)]) {
    poisonCache(cacheDir)
    writeFileSync(path, rewrite)
    assert.equal(statSync(path).ino, inode)
    const {cached, fresh} = await both()
    assert.deepEqual(cached, fresh)
    assert.ok(cached.total < 1000 + 2999)
  }
})

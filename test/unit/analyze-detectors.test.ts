/** Each detector at and around its thresholds, with the defaults of config/default.yaml. */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {BruteForceDetector} from '../../src/analyze/detectors/brute-force.js'
import type {Detector} from '../../src/analyze/detectors/detector.js'
import {ErrorSpikeDetector} from '../../src/analyze/detectors/error-spike.js'
import {FirstSeenDetector} from '../../src/analyze/detectors/first-seen.js'
import {IntegrityDetector} from '../../src/analyze/detectors/integrity.js'
import {ModelAllowListDetector} from '../../src/analyze/detectors/model-allowlist.js'
import {OffHoursDetector} from '../../src/analyze/detectors/off-hours.js'
import {RateSpikeDetector} from '../../src/analyze/detectors/rate-spike.js'
import {SilenceDetector} from '../../src/analyze/detectors/silence.js'
import type {Observation} from '../../src/analyze/observation.js'
import {findingSchema} from '../../src/analyze/report.js'
import {readDefaults} from '../../src/config/load.js'
import {Diagnostics} from '../../src/store/diagnostics.js'
import {chainedLines, tempDir, writeLog} from '../helpers.js'

const defaults = readDefaults().analyze
const T0 = Date.parse('2026-11-04T12:00:00.000Z') // a Wednesday, noon UTC
const MIN = 60_000
let lineNo = 0

function obs(partial: Partial<Observation> & {time: number}): Observation {
  return {
    event: 'auth.login',
    level: 'info',
    actor: 'alice',
    failure: false,
    file: 'audit-2026-11-04.jsonl',
    line: ++lineNo,
    baseline: false,
    ...partial,
  }
}

async function run(
  detector: Detector,
  observations: Observation[],
  context = {now: T0 + 86_400_000, until: T0 + 86_400_000} as {since?: number; until?: number; now: number},
) {
  for (const o of observations) detector.observe(o)
  const findings = await detector.findings(context)
  for (const f of findings) findingSchema.parse(f)
  return findings
}

test('brute force: 10 failures from one actor in 10 minutes is a finding, 9 or a slower 10 are not', async () => {
  const fails = (n: number, spacingMs: number, extra: Partial<Observation> = {}) =>
    Array.from({length: n}, (_, i) =>
      obs({time: T0 + i * spacingMs, event: 'auth.fail', level: 'warning', failure: true, actor: 'mallory', ip: `10.9.0.${i}`, ...extra}),
    )
  assert.equal((await run(new BruteForceDetector(defaults.brute_force), fails(9, 30_000))).length, 0)
  assert.equal((await run(new BruteForceDetector(defaults.brute_force), fails(10, 70_000))).length, 0, '10 over 10.5 minutes')
  const found = await run(new BruteForceDetector(defaults.brute_force), fails(10, 60_000))
  assert.equal(found.length, 1)
  assert.equal(found[0].id, 'brute-force:actor:mallory')
  assert.equal(found[0].severity, 'high')
  assert.equal(found[0].count, 10)
  assert.deepEqual(found[0].actors, ['mallory'])
  assert.equal(found[0].evidence.length, 10)
  // One IP, many actors (password spraying) is found by IP.
  const spray = Array.from({length: 12}, (_, i) =>
    obs({time: T0 + i * 1000, event: 'auth.fail', failure: true, actor: `user${i}`, ip: '203.0.113.7'}),
  )
  const byIp = await run(new BruteForceDetector(defaults.brute_force), spray)
  assert.deepEqual(
    byIp.map((f) => f.id),
    ['brute-force:ip:203.0.113.7'],
  )
  assert.deepEqual(byIp[0].ips, ['203.0.113.7'])
  // The baseline does not count.
  assert.equal((await run(new BruteForceDetector(defaults.brute_force), fails(20, 1000, {baseline: true}))).length, 0)
})

test('rate spike: a minute far above the median is found; a steady load is not', async () => {
  const steady: Observation[] = []
  for (let m = 0; m < 120; m++) for (let i = 0; i < 50; i++) steady.push(obs({time: T0 + m * MIN + i * 100}))
  assert.equal((await run(new RateSpikeDetector(defaults.rate_spike), steady)).length, 0)
  const spiked = [...steady]
  for (let i = 0; i < 400; i++) spiked.push(obs({time: T0 + 121 * MIN + i * 100, actor: 'bot'}))
  const found = await run(new RateSpikeDetector(defaults.rate_spike), spiked)
  assert.equal(found.length, 1)
  assert.equal(found[0].count, 400)
  assert.equal(found[0].first_seen, new Date(T0 + 121 * MIN).toISOString())
  assert.deepEqual(found[0].actors, ['bot'])
  assert.equal(found[0].evidence.length, 10)
})

test('error spike: a window of mostly failures against a low usual share', async () => {
  const items: Observation[] = []
  for (let i = 0; i < 600; i++) items.push(obs({time: T0 + i * 6000, failure: i % 20 === 0, level: i % 20 === 0 ? 'error' : 'info'}))
  assert.equal((await run(new ErrorSpikeDetector(defaults.error_spike), items)).length, 0)
  for (let i = 0; i < 30; i++)
    items.push(obs({time: T0 + 3_600_000 + 60_000 + i * 1000, event: 'api.error', level: 'error', failure: true}))
  const found = await run(new ErrorSpikeDetector(defaults.error_spike), items)
  assert.equal(found.length, 1)
  assert.equal(found[0].category, 'reliability')
  assert.equal(found[0].count, 30)
  assert.match(found[0].explanation, /api\.error \(30\)/)
})

test('off hours: privileged actions at night or at the weekend, in the configured zone', async () => {
  const night = T0 + 14 * 3_600_000 // 02:00 UTC Thursday
  const items = [
    obs({time: T0, event: 'config.change', actor: 'alice'}), // noon Wednesday: working hours
    obs({time: night, event: 'config.change', actor: 'alice'}),
    obs({time: night + 1000, event: 'token.revoke', actor: 'bob'}),
    obs({time: night + 2000, event: 'file.read', actor: 'bob'}), // not privileged
    obs({time: Date.parse('2026-11-07T12:00:00Z'), event: 'data.delete', actor: 'carol'}), // Saturday
  ]
  const found = await run(new OffHoursDetector(defaults.off_hours), items)
  assert.deepEqual(found.map((f) => f.id).sort(), [
    'off-hours:alice:config.change',
    'off-hours:bob:token.revoke',
    'off-hours:carol:data.delete',
  ])
  assert.equal(found.find((f) => f.actors[0] === 'bob')!.severity, 'high')
  // 02:00 UTC is 11:00 in Tokyo: working hours there.
  const tokyo = await run(new OffHoursDetector({...defaults.off_hours, timezone: 'Asia/Tokyo'}), [
    obs({time: night, event: 'config.change'}),
  ])
  assert.equal(tokyo.length, 0)
  const ignored = await run(new OffHoursDetector({...defaults.off_hours, ignore_actors: ['svc-*']}), [
    obs({time: night, event: 'config.change', actor: 'svc-ci'}),
  ])
  assert.equal(ignored.length, 0)
})

test('first seen: values the baseline never saw; nothing without a baseline', async () => {
  const baseline = [obs({time: T0 - 86_400_000, actor: 'alice', ip: '10.0.0.1', baseline: true})]
  const range = [
    obs({time: T0, actor: 'alice', ip: '10.0.0.1'}),
    obs({time: T0 + 1, actor: 'zed', ip: '198.51.100.9', event: 'auth.login'}),
    obs({time: T0 + 2, actor: 'zed', ip: '198.51.100.9'}),
  ]
  const found = await run(new FirstSeenDetector(defaults.first_seen), [...baseline, ...range])
  assert.deepEqual(found.map((f) => f.id).sort(), ['first-seen:actor:zed', 'first-seen:ip:198.51.100.9'])
  assert.equal(found.find((f) => f.id.includes(':ip:'))!.count, 2)
  assert.equal((await run(new FirstSeenDetector(defaults.first_seen), range)).length, 0)
})

test('model allow-list: off when empty; globs allow', async () => {
  const items = [obs({time: T0, model: 'llama3.2:3b'}), obs({time: T0 + 1, model: 'evil:70b', actor: 'mallory'})]
  assert.equal((await run(new ModelAllowListDetector(defaults.models), items)).length, 0)
  const found = await run(new ModelAllowListDetector({allowed: ['llama3*', 'qwen*']}), items)
  assert.deepEqual(
    found.map((f) => f.id),
    ['model-allowlist:evil:70b'],
  )
  assert.deepEqual(found[0].actors, ['mallory'])
})

test('silence: a gap longer than expected, and a quiet end of the range', async () => {
  const items = [obs({time: T0}), obs({time: T0 + 30 * MIN}), obs({time: T0 + 200 * MIN})]
  const found = await run(new SilenceDetector(defaults.silence), items, {since: T0, until: T0 + 210 * MIN, now: T0 + 210 * MIN})
  assert.equal(found.length, 1)
  assert.equal(found[0].first_seen, new Date(T0 + 30 * MIN).toISOString())
  assert.deepEqual(
    found[0].evidence.map((e) => e.line),
    [items[1].line, items[2].line],
  )
  const end = await run(new SilenceDetector(defaults.silence), [obs({time: T0})], {since: T0, now: T0 + 180 * MIN})
  assert.match(end[0].title, /no entries since/)
})

test('integrity: a tampered line and unreadable lines are findings with their place', async () => {
  const dir = tempDir()
  const {lines} = chainedLines([
    {timestamp: '2026-11-04T10:00:00.000Z', event: 'auth.login'},
    {timestamp: '2026-11-04T10:01:00.000Z', event: 'auth.login'},
    {timestamp: '2026-11-04T10:02:00.000Z', event: 'auth.login'},
  ])
  lines[1] = lines[1].replace('"alice"', '"alicf"')
  writeLog(dir, 'audit-2026-11-04.jsonl', lines)
  const diagnostics = new Diagnostics()
  diagnostics.report({kind: 'malformed', file: `${dir}/audit-2026-11-04.jsonl`, line: 7, reason: 'Unexpected token'})
  const detector = new IntegrityDetector(dir, diagnostics)
  detector.observe({file: 'audit-2026-11-04.jsonl'})
  const found = await run(detector, [])
  const chain = found.find((f) => f.id === 'integrity:hash-mismatch')
  assert.ok(chain, JSON.stringify(found.map((f) => f.id)))
  assert.equal(chain.severity, 'critical')
  assert.deepEqual(chain.evidence, [{file: 'audit-2026-11-04.jsonl', line: 2}])
  const unreadable = found.find((f) => f.id === 'integrity:unreadable-malformed')!
  assert.deepEqual(unreadable.evidence, [{file: 'audit-2026-11-04.jsonl', line: 7}])
})

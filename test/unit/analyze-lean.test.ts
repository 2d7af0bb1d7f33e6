import assert from 'node:assert/strict'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'
import {test} from 'node:test'

import {readFileSync, unlinkSync, writeFileSync} from 'node:fs'

import {type Analysis, type AnalyzeOptions, analyzeItems} from '../../src/analyze/analyze.js'
import {type BlockRows, scanWithRows} from '../../src/analyze/block-rows.js'
import {analyzeLogFused} from '../../src/analyze/fused.js'
import {logItems, type SourceItem} from '../../src/analyze/sources.js'
import {readDefaults} from '../../src/config/load.js'
import {chainLine, GENESIS, serializeBody} from '../../src/chain/native.js'
import type {FilterSpec} from '../../src/events/filter.js'
import {readCanonical, readCanonicalAt, readCanonicalHeadAt} from '../../src/store/decode.js'
import {Diagnostics} from '../../src/store/diagnostics.js'
import {HEADROOM} from '../../src/integrity/verify/scan.js'
import {writeMixedFile} from '../canonical-fuzz.js'
import {tempDir, seededRandom} from '../helpers.js'

const {random, pick} = seededRandom(5)

const DETAILS: Array<Record<string, unknown>> = [
  {},
  {ip: '10.0.0.1', reason: 'bad password 42'},
  {client_ip: '', src_ip: '10.0.0.9', model: 'llama3'},
  {model: 'gpt-x', error: 'timeout after 30s'},
  {ip: 7, message: 'x'},
  {nested: {ip: '1.1.1.1'}},
  {error: null, reason: 'denied for 10.1.2.3', message: 'm'},
  {error: 5, reason: 'r'},
  {message: 'a,b}c:"', 'odd,"key}': 'x', ip_address: '10.0.0.3', ip: ''},
  {remote_addr: '10.9.9.9', source_ip: '10.8.8.8', model: '', reason: true},
  {message: -1.5e-3, error: false, model: null},
  {ip: '10.0.0.2', reason: 'bad password 7'}, // another reason of the same template
]

function randomLine(minute: number): string {
  const body = serializeBody({
    timestamp: new Date(Date.UTC(2026, 10, 2, 10, minute, Math.floor(random() * 60))).toISOString(),
    event: pick(['auth.login', 'auth.fail', 'api.request', 'token.revoke', 'x.y.error']),
    level: pick(['info', 'warning', 'error', 'debug']),
    actor: pick(['alice', 'bob', 'eve', 'ünï']),
    details: pick(DETAILS),
    metadata: {hostname: 'web-1', pid: 4000},
  })
  const line = random() < 0.8 ? chainLine(body, GENESIS).line : body
  switch (Math.floor(random() * 8)) {
    case 0:
      return line.replace('"actor":"', '"actor":"\\u0061') // an escape: the full decoder's
    case 1:
      return line.replace('"level":"warning"', '"level":"WARN"')
    case 2:
      // duplicate members: the last wins
      return line.replace('"details":{', pick(['"details":{"ip":"9.9.9.9",', '"details":{"error":"e 1","model":"m",', '"details":{"x":1,']))
    case 3:
      return `${line} `
    default:
      return line
  }
}

/** Canonical and bent lines, torn lines (mostly followed by their recovery record), bad UTF-8, blanks. */
function writeMixed(path: string, lines: number): void {
  const minute = (i: number) => Math.floor((i / lines) * 60)
  writeMixedFile(path, lines, {
    random,
    line: (i) => randomLine(minute(i)),
    recoveryTime: (i) => new Date(Date.UTC(2026, 10, 2, 10, minute(i))).toISOString(),
    unterminated: true,
  })
}

/** What the detectors and the LLM sample take from an item. */
const view = ({time, event, level, actor, ip, model, failure, file, line, reason}: SourceItem) => ({
  time,
  event,
  level,
  actor,
  ip,
  model,
  failure,
  file,
  line,
  reason,
})

async function collect(dir: string, filter: FilterSpec) {
  const diagnostics = new Diagnostics()
  const items: ReturnType<typeof view>[] = []
  for await (const batch of logItems(dir, filter, undefined, diagnostics)) for (const item of batch) items.push(view(item))
  return {items, problems: diagnostics.toJSON()}
}

test('a time range reads canonical lines by position and gives what the search reader gives, problems included', async () => {
  const dir = tempDir()
  writeMixed(join(dir, 'audit-2026-11-02.001.jsonl'), 3000)
  writeMixed(join(dir, 'audit-2026-11-02.jsonl'), 3000)
  for (const range of [{}, {since: Date.UTC(2026, 10, 2, 10, 20), until: Date.UTC(2026, 10, 2, 10, 45)}]) {
    const lean = await collect(dir, range)
    // Any other filter takes the search reader; `*` matches every event.
    const searched = await collect(dir, {...range, events: ['*']})
    assert.deepEqual(lean, searched)
    assert.ok(lean.items.length > 1000)
    assert.ok(lean.problems.length >= 3, JSON.stringify(lean.problems))
  }
})

/** The whole analysis (report, LLM sample, template counts) and the problems, by the general reader and by the fused one. */
async function bothPaths(dir: string, read: FilterSpec, since: number | undefined, threads: number) {
  const options = (diagnostics: Diagnostics): AnalyzeOptions => ({
    settings: {...readDefaults().analyze, models: {allowed: ['llama3']}},
    dir,
    source: dir,
    since,
    until: read.until,
    baselineSince: read.since,
    now: Date.UTC(2026, 10, 3),
    diagnostics,
  })
  const general = new Diagnostics()
  const fused = new Diagnostics()
  const answer = (analysis: Analysis, diagnostics: Diagnostics) => ({
    ...analysis,
    templateCounts: [...analysis.templateCounts],
    problems: diagnostics.toJSON(),
  })
  const fusedAnalysis = await analyzeLogFused(dir, read, undefined, options(fused), threads)
  return {
    general: answer(await analyzeItems(logItems(dir, read, undefined, general), options(general)), general),
    fused: fusedAnalysis && answer(fusedAnalysis, fused),
  }
}

test("the fused read (verify's blocks, rows decoded beside the hashing) gives what the general reader gives", async () => {
  const dir = tempDir()
  // Over 3 blocks a file, so torn lines and their recovery records also fall on block edges; a gzipped part too.
  writeMixed(join(dir, 'audit-2026-11-02.001.jsonl'), 12_000)
  writeMixed(join(dir, 'audit-2026-11-02.002.jsonl'), 12_000)
  writeFileSync(join(dir, 'audit-2026-11-02.002.jsonl.gz'), gzipSync(readFileSync(join(dir, 'audit-2026-11-02.002.jsonl'))))
  unlinkSync(join(dir, 'audit-2026-11-02.002.jsonl'))
  writeMixed(join(dir, 'audit-2026-11-02.jsonl'), 12_000)
  const at = (minute: number) => Date.UTC(2026, 10, 2, 10, minute)
  for (const threads of [0, 2])
    for (const [read, since] of [
      [{}, at(20)],
      [{since: at(10), until: at(50)}, at(30)],
      [{since: at(10)}, undefined],
    ] as const) {
      const {general, fused} = await bothPaths(dir, read, since, threads)
      assert.ok(fused, 'the fused path read the range')
      assert.deepEqual(fused, general)
      assert.ok(general.report.totals.entries > 1000 && general.sample.length > 5)
      assert.ok(general.report.findings.some((f) => f.source === 'integrity'))
      assert.ok(general.problems.length >= 3, JSON.stringify(general.problems))
    }
})

test('the fused read gives up on what it does not read as the reader does (a line over 1 MiB)', async () => {
  const dir = tempDir()
  writeMixed(join(dir, 'audit-2026-11-02.jsonl'), 500)
  writeFileSync(join(dir, 'audit-2026-11-03.jsonl'), `${'x'.repeat(1024 * 1024 + 1)}\n`)
  const {general, fused} = await bothPaths(dir, {}, undefined, 0)
  assert.equal(fused, undefined)
  assert.ok(general.problems.some(([kind]) => kind === 'too-long'))
})

test('readCanonicalAt reads each line of a text as readCanonical reads the line alone', () => {
  const dir = tempDir()
  const path = join(dir, 'audit-2026-11-02.jsonl')
  writeMixed(path, 3000)
  const text = `${readFileSync(path, 'latin1')}\r\n{}\n`
  let canonical = 0
  for (let start = 0, nl = text.indexOf('\n'); nl >= 0; start = nl + 1, nl = text.indexOf('\n', start)) {
    const alone = readCanonical(text.slice(start, nl))
    assert.deepEqual(readCanonicalAt(text, start), alone)
    if (alone) canonical++
  }
  assert.ok(canonical > 1000)
})

test('readCanonicalHeadAt reads each line as readCanonicalAt does, a bent chain hash included', () => {
  const dir = tempDir()
  const path = join(dir, 'audit-2026-11-02.jsonl')
  writeMixed(path, 3000)
  const lines = readFileSync(path, 'latin1').split('\n')
  // Hashes its pattern takes as any 64 characters: every character around the hex ranges, case, length, a quote.
  const bends = [':', '/', '@', '`', 'g', 'A', 'F', '"', ' ', '\u00e9'].map(
    (c) => (hash: string) => `${hash.slice(0, 40)}${c}${hash.slice(41)}`,
  )
  bends.push(
    (hash) => hash.toUpperCase(),
    (hash) => hash.slice(1),
    (hash) => `${hash}0`,
    (hash) => `0${hash.slice(0, 63)}`,
  )
  for (const line of [...lines]) {
    const hash = /"chain_hash":"([0-9a-f]{64})"/.exec(line)?.[1]
    if (hash) for (const bend of bends) lines.push(line.replace(hash, bend(hash)))
  }
  const text = `${lines.join('\n')}\r\n{}\n`
  let canonical = 0
  let bent = 0
  for (let start = 0, nl = text.indexOf('\n'); nl >= 0; start = nl + 1, nl = text.indexOf('\n', start)) {
    const at = readCanonicalAt(text, start)
    const head = readCanonicalHeadAt(text, start)
    assert.deepEqual(
      head,
      at && {time: at.time, event: at.event, level: at.level, actor: at.actor, details: at.details},
      text.slice(start, nl),
    )
    if (at) canonical++
    else if (/"chain_hash":"[^"]{64}"\}$/.test(text.slice(start, nl))) bent++
  }
  assert.ok(canonical > 1000 && bent > 10_000, `${canonical} canonical, ${bent} with a bent hash`)
})

test("a block's worker links each line of an intact chain in place, whether a bad line sits before it or not", () => {
  let prev = GENESIS
  const lines: string[] = []
  for (let i = 0; i < 50; i++) {
    const body = serializeBody({
      timestamp: new Date(Date.UTC(2026, 10, 2, 10, i)).toISOString(),
      event: 'auth.login',
      level: 'info',
      actor: 'alice',
      details: {ip: `10.0.0.${i}`},
      metadata: {pid: 1},
    })
    const {line, hash} = chainLine(body, prev)
    lines.push(line)
    prev = hash
  }
  // A line that is not an entry between two links: the link over it is still checked in the block.
  lines.splice(20, 0, 'not json')
  const text = `${lines.join('\n')}\n`
  const buf = Buffer.alloc(HEADROOM + Buffer.byteLength(text))
  buf.write(text, HEADROOM)
  const result = scanWithRows({buf, start: HEADROOM, end: buf.length, profile: 'native', extra: {}})
  const runs = result.items.filter((item) => item.k === 'run')
  assert.deepEqual(
    runs.map((run) => run.count),
    [50],
  )
  assert.equal((result.extra as BlockRows).rows, 48) // the first line and the one after the bad line go to the reader's path
})

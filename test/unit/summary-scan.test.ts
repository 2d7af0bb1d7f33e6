import assert from 'node:assert/strict'
import {join} from 'node:path'
import {test} from 'node:test'

import {chainLine, GENESIS, serializeBody} from '../../src/chain/native.js'
import {Diagnostics} from '../../src/store/diagnostics.js'
import {decodeLine} from '../../src/store/decode.js'
import {listLogFiles} from '../../src/store/files.js'
import {buildReport, IP_FIELDS, SummaryAggregate} from '../../src/summary/aggregate.js'
import {bytesLine, CANONICAL_LINE, COUNTED_MODEL, countedDetails, leanFields, matchCanonicalBytes} from '../../src/summary/lean.js'
import {LEVELS as LEVEL_NAMES} from '../../src/events/model.js'
import {summarize, summarizeFile} from '../../src/summary/summarize.js'
import {countMatches} from '../../src/store/count.js'
import {compileFilter, type FilterSpec} from '../../src/events/filter.js'
import {readEntryBatches} from '../../src/store/reader.js'
import {tempDir, seededRandom} from '../helpers.js'
import {ACTORS, LEVELS, VALUES, writeMixedFile} from '../canonical-fuzz.js'

const {random, pick} = seededRandom(7)

const TIMESTAMPS = [
  '2026-11-02T10:00:00.000Z',
  '2026-11-02T23:59:59.999Z',
  '2026-02-30T10:00:00.000Z', // not a day
  '2026-11-02T24:00:00.000Z',
  '2026-11-02T23:60:00.000Z', // minute out of range, in an hour that exists
  '2026-11-02T23:59:60.000Z', // a leap second is not taken
  '2024-02-29T12:00:00.000Z',
  '2023-02-29T12:00:00.000Z',
  '2026-11-02T10:00:00Z',
  '2026-11-02T10:00:00.000+01:00',
  '2026-11-02 10:00:00.000Z',
  '2026-11-02T10:00:00.1234Z',
]
const EVENTS = ['auth.login', 'auth.fail', 'api.request', 'policy.deny', 'Auth.Login', 'nodot', 'a.b.c-d_e', 'x.y.error']
const KEYS = [...IP_FIELDS, 'model', 'path', 'status', '__proto__', 'ip"x', 'é']

function randomDetails(): Record<string, unknown> {
  const details: Record<string, unknown> = {}
  const n = Math.floor(random() * 5)
  for (let i = 0; i < n; i++) details[pick(KEYS)] = pick(VALUES)
  return details
}

/** A line as the writer writes it, then perhaps bent into something only the full decoder reads. */
function randomLine(mostlyValid = false): string {
  const valid = mostlyValid && random() < 0.9
  const body = serializeBody({
    timestamp: pick(valid ? [...TIMESTAMPS.slice(0, 2), TIMESTAMPS[6]] : TIMESTAMPS),
    event: pick(valid ? EVENTS.slice(0, 4) : EVENTS),
    level: pick(valid ? LEVELS.slice(0, 4) : LEVELS) as 'info',
    actor: pick(valid ? ACTORS.filter((a) => !/["\\\x00-\x1f]/.test(a)) : ACTORS),
    details: randomDetails(),
    metadata: random() < 0.8 ? {hostname: 'web-1', pid: 4000} : {deep: {x: [1]}},
  })
  let line = random() < 0.7 ? chainLine(body, GENESIS).line : body
  switch (Math.floor(random() * 26)) {
    case 0:
      line = line.replace('"details":', '"details" : ') // whitespace
      break
    case 1:
      line = line.replace('{"timestamp"', '{"event":"dup.key","timestamp"') // duplicate member, first
      break
    case 2:
      line = line.replace('"details":{', '"details":{"ip":"9.9.9.9","ip":') // duplicate in details; may break JSON
      break
    case 3:
      line = line.replace('"details":{', '"details":{"model":"m1",')
      break
    case 4:
      line = `${line} `
      break
    case 5:
      line = line.slice(0, Math.floor(random() * line.length)) // torn
      break
    case 6:
      line = line.replace(/"pid":4000/, '"pid":4e3')
      break
    case 7:
      line = line.replace('"chain_hash":"', '"chain_hash":"X')
      break
    case 8:
      line = line.replace(/"details":\{[^}]*\}/, '"details":[]')
      break
    case 9:
      line = line.replace('"level":', '"level":1,"lvl":')
      break
    case 10:
      line = line.replace(/é|a"|"alice"/, (m) => (m === 'é' ? '\\u00e9' : m === 'a"' ? '\\u0061"' : '"\\u0061lice"')) // unicode escapes
      break
    case 11:
      line = line.replace(
        /"pid":4000/,
        pick(['"pid":4E+3', '"pid":40e-2', '"pid":-0.0', '"pid":01', '"pid":1.', '"pid":.5', '"pid":1e', '"pid":-', '"pid":1.5E3']),
      )
      break
    case 12:
      line = line.replace(/,"(actor|metadata|event)":/, (m) => pick([` ${m}`, `${m} `, m.replace(':', ' :'), m.replace(',', ',\t')])) // whitespace elsewhere
      break
    case 13:
      line = line.replace(
        /"chain_hash":"([0-9a-f]{64})"/,
        (_m, hash: string) => `"chain_hash":"${pick([hash.toUpperCase(), hash.slice(1), `${hash}0`])}"`,
      )
      break
    case 14:
      line = line.replace('"event":"', '"event":"\\u0061') // an escape in the event name
      break
    case 15:
      line = line.replace(
        '"details":{',
        pick(['"details":{"ip":"1.2.3.4","ip":7,', '"details":{"model":null,"model":"m2",', '"details":{"src_ip":"", "ip":"5.5.5.5",']),
      )
      break
    case 16:
      line = `${line}\r` // a CRLF line
      break
    case 17:
      line = line.replace('"actor":"', '"actor":"\t') // a raw control character: not JSON
      break
    case 18:
      line = line.replace(/}$/, '}}')
      break
    default:
  }
  return line
}

/** What the summary takes from a line through the full decoder; undefined when it is not an entry. */
function fullView(line: string) {
  const decoded = decodeLine(line)
  if (!decoded.ok) return undefined
  const {entry, time} = decoded
  const ips = IP_FIELDS.map((f) => entry.details[f]).filter((v): v is string => typeof v === 'string' && v !== '')
  const model = typeof entry.details.model === 'string' ? entry.details.model : undefined
  return {time, event: entry.event, level: entry.level, actor: entry.actor, ips, model}
}

function leanView(line: string) {
  const match = CANONICAL_LINE.exec(line)
  const fields = match && leanFields(match)
  if (!fields) return undefined
  const counted = countedDetails(fields.details)
  return {time: fields.time, event: fields.event, level: fields.level, actor: fields.actor, ips: counted?.ips ?? [], model: counted?.model}
}

/** What the summary scan's byte matcher takes from a line (with its LF, amid other lines). */
function bytesView(line: string) {
  const before = Buffer.from('{"timestamp":"x"}\n')
  const after = Buffer.from('{"timestamp":"2026-11-02T10:00:00.000Z","event":"a.b"\n')
  const buf = Buffer.concat([before, Buffer.from(`${line}\n`), after])
  const next = matchCanonicalBytes(buf, before.length)
  if (next < 0) return undefined
  assert.equal(next, buf.length - after.length, line)
  const text = (start: number, end: number) => buf.toString('utf8', start, end)
  const {countedStart, countedEnd} = bytesLine
  const ips: string[] = []
  for (let i = 0; i < COUNTED_MODEL; i++)
    if (countedStart[i] >= 0 && countedEnd[i] > countedStart[i]) ips.push(text(countedStart[i], countedEnd[i]))
  const model = countedStart[COUNTED_MODEL] >= 0 ? text(countedStart[COUNTED_MODEL], countedEnd[COUNTED_MODEL]) : undefined
  return {
    time: bytesLine.time,
    event: text(bytesLine.eventStart, bytesLine.eventEnd),
    level: LEVEL_NAMES[bytesLine.level],
    actor: text(bytesLine.actorStart, bytesLine.actorEnd),
    ips,
    model,
  }
}

test('the byte matcher takes exactly the lines the canonical regex takes, and reads them as the full decoder does', () => {
  let taken = 0
  let full = 0
  for (let i = 0; i < 30_000; i++) {
    const line = randomLine(true)
    const bytes = bytesView(line)
    assert.deepEqual(bytes, leanView(line), line)
    if (bytes !== undefined) {
      taken++
      assert.deepEqual(bytes, fullView(line), line)
    } else if (fullView(line) !== undefined) full++
  }
  // Not vacuous: many lines each way.
  assert.ok(taken > 1000 && full > 1000, `${taken} lines taken, ${full} left to the full decoder`)
})

test('the lean decoder agrees with the full decoder on every line it takes, and takes the canonical ones', () => {
  let taken = 0
  for (let i = 0; i < 20_000; i++) {
    const line = randomLine()
    const lean = leanView(line)
    if (lean === undefined) continue
    taken++
    assert.deepEqual(lean, fullView(line), line)
  }
  assert.ok(taken > 100, `only ${taken} lines read lean`)
  // Not vacuous: the writer's own lines with flat details are all read lean.
  for (let i = 0; i < 2000; i++) {
    const details: Record<string, unknown> = {}
    for (let k = Math.floor(random() * 5); k > 0; k--) details[pick(KEYS)] = pick(VALUES.filter((v) => typeof v !== 'object' || v === null))
    const line = chainLine(
      serializeBody({
        timestamp: pick(TIMESTAMPS.slice(0, 2)),
        event: pick(EVENTS.slice(0, 4)),
        level: pick(LEVELS.slice(0, 4)) as 'info',
        actor: pick(ACTORS.slice(0, 4)),
        details,
        metadata: {hostname: 'web-1'},
      }),
      GENESIS,
    ).line
    if (/\\/.test(line)) continue // an escape: the full decoder's
    const lean = leanView(line)
    assert.ok(lean, line)
    assert.deepEqual(lean, fullView(line), line)
  }
  const canonical = chainLine(
    serializeBody({
      timestamp: '2026-11-02T10:00:00.000Z',
      event: 'api.request',
      level: 'info',
      actor: 'al ice',
      details: {ip: '1', client_ip: '2', model: 'm', ok: true, n: -1.5e3},
      metadata: {},
    }),
    GENESIS,
  ).line
  assert.deepEqual(leanView(canonical), fullView(canonical))
  assert.deepEqual(leanView(canonical)?.ips, ['1', '2'])
})

/** A file of mixed lines: canonical, bent, torn lines (some recovered by a record, some claiming a wrong line), bad UTF-8, blanks. */
function writeMixed(path: string, lines: number, unterminated: boolean, wrongClaims = 0.1): void {
  writeMixedFile(path, lines, {
    random,
    line: (_, torn) => (torn ? randomLine() : randomLine(random() < 0.5)),
    recoveryTime: () => '2026-11-02T11:00:00.000Z',
    wrongClaims,
    unterminated,
  })
}

test('the range scan reports exactly what the full reader does, on any cut of a file full of damage', async () => {
  for (const [round, rangeBytes] of [200, 1000, 7000, 100_000].entries()) {
    const dir = tempDir()
    writeMixed(join(dir, 'audit-2026-11-02.001.jsonl'), 1500, false)
    writeMixed(join(dir, 'audit-2026-11-02.jsonl'), 1500, round % 2 === 0)
    for (const filter of [{}, {since: Date.parse('2026-11-02T10:30:00.000Z')}]) {
      const expected = new SummaryAggregate()
      const expectedProblems = new Diagnostics()
      for (const file of await listLogFiles(dir)) {
        const {aggregate, diagnostics} = await summarizeFile(file, filter)
        expected.merge(aggregate)
        expectedProblems.merge(diagnostics)
      }
      const diagnostics = new Diagnostics()
      const report = await summarize(dir, {filter, diagnostics, threads: 2, parallelBytes: 0, rangeBytes})
      const fromFullReader = buildReport(expected, {files: report.files.names, problems: expectedProblems.counts()})
      assert.deepEqual({...report, range: undefined}, {...fromFullReader, range: undefined})
      assert.deepEqual(await summarize(dir, {filter, threads: 1}), report)
      assert.deepEqual(diagnostics.toJSON(), expectedProblems.toJSON())
      assert.ok(expectedProblems.total > 10)
    }
  }
})

test('search --count on byte ranges finds and reports exactly what the reader does', async () => {
  for (const [round, rangeBytes] of [300, 5000, 100_000].entries()) {
    const dir = tempDir()
    // A wrong claim sends the whole file back to the reader: here only in the second round.
    const wrongClaims = round === 1 ? 0.1 : 0
    writeMixed(join(dir, 'audit-2026-11-02.001.jsonl'), 1500, false, wrongClaims)
    writeMixed(join(dir, 'audit-2026-11-02.jsonl'), 1500, round !== 1, wrongClaims)
    // A millisecond after the 10:00:00.000 lines, and the end of the day just after the 23:59:59.999 ones.
    const [since, until] = [Date.parse('2026-11-02T10:00:00.001Z'), Date.parse('2026-11-03T00:00:00.000Z')]
    // Without --where and --grep a line in the writer's form is counted from its members alone; with them, decoded whole.
    const specs: FilterSpec[] = [
      {events: ['auth.fail']},
      {events: ['api.*'], actors: ['bob']},
      {level: 'warning'},
      {},
      {events: ['auth.*', 'x.y.*'], since, until},
      {actors: ['alice', 'ünïcødé', 'eve "the" hacker']},
      {events: ['auth.fail'], where: ['details.status=42']},
      {events: ['auth.fail'], grep: 'ip'},
    ]
    for (const spec of specs) {
      const expectedProblems = new Diagnostics()
      let expected = 0
      for await (const batch of readEntryBatches(await listLogFiles(dir), {filter: compileFilter(spec), diagnostics: expectedProblems}))
        expected += batch.length
      const diagnostics = new Diagnostics()
      assert.equal(await countMatches(dir, {filter: spec, diagnostics, threads: 2, parallelBytes: 0, rangeBytes}), expected)
      assert.deepEqual(diagnostics.toJSON(), expectedProblems.toJSON())
      assert.ok(expected > 0, JSON.stringify(spec))
    }
  }
})

import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'

import {chainLine, GENESIS, serializeBody} from '../../src/chain/native.js'
import {
  CANONICAL_EVENT,
  CANONICAL_FLAT_OBJECT,
  CANONICAL_STRING_CHARS,
  CANONICAL_TIMESTAMP,
  decodeAnyLine,
  decodeLine,
  readCanonical,
} from '../../src/store/decode.js'
import {tempDir, seededRandom} from '../helpers.js'
import {ACTORS, LEVELS, VALUES} from '../canonical-fuzz.js'

const {random, pick} = seededRandom(11)
/** Mostly one of the first `good` items (the writer's kind), so many lines stay canonical. */
const pickMostly = <T>(items: readonly T[], good: number): T => (random() < 0.85 ? items[Math.floor(random() * good)] : pick(items))

const TIMESTAMPS = [
  '2026-11-02T10:00:00.000Z',
  '2026-11-02T23:59:59.999Z',
  '2026-11-02T07:08:09.456Z',
  '2024-02-29T12:00:00.000Z',
  '2026-02-29T12:00:00.000Z', // not a day in 2026
  '2026-02-30T10:00:00.000Z',
  '2026-11-02T24:00:00.000Z',
  '2026-11-02T10:60:00.000Z',
  '2026-13-02T10:00:00.000Z',
  '0050-06-30T23:59:59.999Z', // Date.UTC reads years below 100 as 19xx
  '2026-11-03T00:00:00.000Z',
  '2026-11-02T10:00:00Z',
  '2026-11-02T10:00:00.000+01:00',
  '2026-11-02 10:00:00.000Z',
  '2026-11-02T10:00:00.1234Z',
  '2026-11-02t10:00:00.000z',
]
const EVENTS = [
  'auth.login',
  'auth.fail',
  'api.request',
  'x.y.error',
  'a.b.c-d_e',
  'Auth.Login',
  'nodot',
  'auth.',
  '.auth',
  'auth..x',
  'ä.b',
]
const KEYS = ['ip', 'model', 'path', 'status', 'reason', '__proto__', 'constructor', 'ip"x', 'é', '', 'a\\b']

function randomObject(): Record<string, unknown> {
  const object: Record<string, unknown> = {}
  const n = Math.floor(random() * 5)
  for (let i = 0; i < n; i++) {
    const key = pickMostly(KEYS, 5)
    const value = pickMostly(VALUES, 2)
    // Through defineProperty so `__proto__` is an own member, as JSON.parse makes it.
    Object.defineProperty(object, key, {value, enumerable: true, writable: true, configurable: true})
  }
  return object
}

/** Text edits that keep the line JSON (or not) but take it out of the writer's exact form. */
const BENDS: Array<(line: string) => string> = [
  (l) => ` ${l}`,
  (l) => `${l} `,
  (l) => `${l}\r`,
  (l) => `\t${l}`,
  (l) => l.replace('","event":', '", "event":'),
  (l) => l.replace('{"timestamp":', '{ "timestamp":'),
  (l) => l.replace(/"actor":"([^"]*)"/, '"actor":"\\u0061$1"'), // a unicode escape in a plain member
  (l) => l.replace('"event":"', '"event":"\\u0061'),
  (l) => l.replace('"level":"', '"level":"\\u0069'),
  (l) => l.replace('}', ',"actor":"mallory"}'), // a duplicate key: the last wins
  (l) => l.replace('"details":{', '"details":{"ip":"1.2.3.4","ip":"5.6.7.8",'),
  (l) => l.replace('"details":{}', '"details":{"n":1E+2}'),
  (l) => l.replace('"details":{}', '"details":{"n":1e400}'),
  (l) => l.replace('"details":{}', '"details":{"n":01}'),
  (l) => l.replace('"details":{}', '"details":{"n":.5}'),
  (l) => l.replace('"details":{}', '"details":{"n":-}'),
  (l) => l.replace('"details":{}', '"details":null'),
  (l) => l.replace('"details":{}', '"details":[]'),
  (l) => l.replace('"details":{}', '"details":"x"'),
  (l) => l.replace(/,"metadata":\{[^}]*\}/, ''),
  (l) => l.replace(/"details":\{[^}]*\},/, ''),
  (l) => l.replace(/"actor":"[^"]*",/, ''),
  (l) => l.replace(/"actor":"[^"]*"/, '"actor":7'),
  (l) => l.replace(/"timestamp":"[^"]*",/, ''),
  (l) => l.replace(/"level":"[^"]*"/, '"level":null'),
  (l) => l.replace(/,"chain_hash":"([0-9a-f]{64})"\}$/, '}').replace('{"timestamp"', '{"chain_hash":"$1","timestamp"'),
  (l) => l.replace(/,("chain_hash":"[0-9a-f]{64}")\}$/, ',$1,"extra":1}'), // chain_hash not last
  (l) => l.replace(/"chain_hash":"([0-9a-f]{64})"/, (_, h: string) => `"chain_hash":"${h.toUpperCase()}"`),
  (l) => l.replace(/"chain_hash":"([0-9a-f]{64})"/, (_, h: string) => `"chain_hash":"${h.slice(1)}g"`),
  (l) => l.replace(/"chain_hash":"([0-9a-f]{64})"/, (_, h: string) => `"chain_hash":"${h.slice(2)}"`),
  (l) => l.replace(/"chain_hash":"([0-9a-f]{64})"/, '"chain_hash":null'),
  (l) => l.replace('"metadata":{', '"metadata":{"deep":{"x":[1,{"y":2}]},'),
  (l) => l.replace(/"event":"[^"]*"/, '"action":"login","resource_type":"user"'), // loki-shaped
  (l) => `${l},`,
  (l) => l.slice(0, -1),
  (l) => `[${l}]`,
  () => 'null',
  () => '42',
  () => '"text"',
  (l) => l.replace('"timestamp"', '"Timestamp"'),
  (l) => l.replace('"}', '"\u0001}'),
  // Braces, commas and member names inside strings, where a reader by position could be misled.
  (l) => l.replace('"details":{', '"details":{"k":"x},y{z}}","n":-0.5E-3,'),
  (l) => l.replace('"details":{', '"details":{"k":"},",'),
  (l) => l.replace('"metadata":{', `"metadata":{"chain_hash":"${'a'.repeat(64)}",`),
  (l) => l.replace(/,"chain_hash":"[0-9a-f]{64}"\}$/, `,"x":"chain_hash"}}`).replace('"metadata":{', '"metadata":{"y":1,'),
  (l) => l.replace(/"actor":"([^"]*)"/, '"actor":"$1\\"'),
  (l) => l.replace(/"actor":"([^"]*)"/, '"actor":"$1 ","level":"info'),
  (l) => l.replace('"details":{}', '"details":{"n":1e5,"m":-0.0,"o":2E-0,"p":1.,"q":true,"r":nul}'),
  (l) => l.replace('"details":{}', '"details":{"n":1e5,"m":-0.0,"o":2E-0}'),
  (l) => l.replace('"details":{}', '"details":{"a":truex}'),
  (l) => l.replace('"details":{}', '"details":{"a":1,}'),
  (l) => l.replace('"details":{}', '"details":{,}'),
  (l) => l.replace(/"level":"[^"]*"/, '"level":"infox"'),
  (l) => l.replace(/"level":"[^"]*"/, '"level":"inf"'),
  (l) => l.replace(/"level":"[^"]*"/, '"level":"\\u0069nfo"'),
  (l) => l.replace(/"timestamp":"[^"]*"/, '"timestamp":"2026-11-02T10:00:00.000Z "'),
  (l) => l.replace(/"timestamp":"[^"]*"/, '"timestamp":"2026-11-02T1a:00:00.000Z"'),
  (l) => l.replace(/"event":"[^"]*"/, '"event":"a.b","event":"c.d"'),
  (l) => l.replace(/"chain_hash":"([0-9a-f]{64})"/, '"chain_hash":"$1" '),
  (l) => l.replace(/"chain_hash":"([0-9a-f]{64})"/, '"chain_hash":"$1","z":"$1"'),
  (l) => l.replace('"details":{', '"details":{"\u00e9":"\ud83d\ude00",'),
  (l) => l.replace('"details":{', '"details":{"é":"😀\u2028",'),
]

/** The form readCanonical reads, as the pattern written from the exported pieces (summary/lean builds its own from them too). */
const REFERENCE = new RegExp(
  `^\\{"timestamp":"(${CANONICAL_TIMESTAMP})","event":"(${CANONICAL_EVENT})",` +
    `"level":"(debug|info|warning|error)","actor":"(${CANONICAL_STRING_CHARS})",` +
    `"details":(${CANONICAL_FLAT_OBJECT}),"metadata":(${CANONICAL_FLAT_OBJECT})(?:,"chain_hash":"([0-9a-f]{64})")?\\}$`,
)

function randomLine(): string {
  const body = serializeBody({
    timestamp: pickMostly(TIMESTAMPS, 3),
    event: pickMostly(EVENTS, 5),
    level: pickMostly(LEVELS, 4) as 'info',
    actor: pickMostly(ACTORS, 5),
    details: randomObject(),
    metadata: random() < 0.7 ? {hostname: 'web-1', pid: 4000, version: '1.4.2'} : randomObject(),
  })
  let line = random() < 0.8 ? chainLine(body, GENESIS).line : body
  const bends = random() < 0.5 ? 0 : 1 + Math.floor(random() * 2)
  for (let i = 0; i < bends; i++) line = pick(BENDS)(line)
  return line
}

test('the canonical fast path and the full decoder agree on every line of a hostile generated file', () => {
  // Written to a file and read back, so the lines are what a reader gets from disk.
  const file = join(tempDir(), 'fuzz.jsonl')
  writeFileSync(file, `${Array.from({length: 30_000}, randomLine).join('\n')}\n`)
  const lines = readFileSync(file, 'utf8').split('\n').slice(0, -1)
  let fast = 0
  let bad = 0
  for (const line of lines) {
    const read = readCanonical(line)
    if (read) fast++
    // The members readCanonical finds by position are the pattern's groups.
    const match = REFERENCE.exec(line)
    if (read) {
      assert.ok(match, `read but not of the form: ${JSON.stringify(line)}`)
      const {time: _, ...members} = read
      const [, timestamp, event, level, actor, details, metadata, chainHash] = match
      assert.deepEqual(members, {timestamp, event, level, actor, details, metadata, chainHash}, JSON.stringify(line))
    } else if (match) assert.equal(decodeAnyLine(line).ok, false, `of the form, with a real time, yet not read: ${JSON.stringify(line)}`)
    for (const profile of [undefined, 'native', 'loki'] as const) {
      const full = decodeAnyLine(line, profile)
      const quick = decodeLine(line, profile)
      assert.deepEqual(quick, full, `${profile ?? 'any'} profile: ${JSON.stringify(line)}`)
      // deepEqual does not see member order, which the output (JSON.stringify) does.
      if (quick.ok && full.ok) assert.equal(JSON.stringify(quick.entry), JSON.stringify(full.entry))
      if (profile === undefined && !full.ok) bad++
    }
  }
  // Both kinds in good numbers, or the comparison proves little.
  assert.ok(fast > lines.length / 5, `only ${fast} of ${lines.length} lines took the fast path`)
  assert.ok(bad > lines.length / 5, `only ${bad} of ${lines.length} lines were bad`)
})

test('readCanonical reads a line as the writer writes it, and nothing else', () => {
  const body = serializeBody({
    timestamp: '2026-11-02T10:00:00.123Z',
    event: 'auth.fail',
    level: 'warning',
    actor: 'eve',
    details: {ip: '10.0.0.1', n: 1.5},
    metadata: {pid: 1},
  })
  const {line, hash} = chainLine(body, GENESIS)
  assert.deepEqual(readCanonical(line), {
    time: Date.UTC(2026, 10, 2, 10, 0, 0, 123),
    timestamp: '2026-11-02T10:00:00.123Z',
    event: 'auth.fail',
    level: 'warning',
    actor: 'eve',
    details: '{"ip":"10.0.0.1","n":1.5}',
    metadata: '{"pid":1}',
    chainHash: hash,
  })
  assert.equal(readCanonical(body)?.chainHash, undefined)
  assert.equal(readCanonical(`${line} `), undefined)
  assert.equal(readCanonical(line.replace('eve', 'e\\u0076e')), undefined)
  assert.equal(readCanonical(line.replace('.123Z', '.123+00:00')), undefined)
  assert.equal(readCanonical(line.replace('10:00:00', '24:00:00')), undefined)
  assert.equal(readCanonical(line.replace('"n":1.5', '"n":{"x":1}')), undefined)
  // A 2 MB line of nesting is left to the full decoder, which reports it and does not throw.
  const deep = `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`
  assert.equal(readCanonical(deep), undefined)
  assert.equal(decodeLine(deep).ok, false)
})

import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'

import {chainLine, GENESIS, serializeBody} from '../../src/chain/native.js'
import type {LocatedEntry} from '../../src/events/model.js'
import {ByteChunks} from '../../src/export/byte-chunks.js'
import {exportFormat} from '../../src/export/encode.js'
import {runExport} from '../../src/export/run.js'
import {cefValue} from '../../src/formats/cef.js'
import {ecsDocument} from '../../src/formats/ecs.js'
import {bulkAction} from '../../src/formats/ecs-bulk.js'
import {createFormat} from '../../src/formats/registry.js'
import {decodeLine, readCanonical} from '../../src/store/decode.js'
import {Diagnostics} from '../../src/store/diagnostics.js'
import {decodeFile} from '../../src/store/reader.js'
import {safeJson} from '../../src/text/sanitize.js'
import {FileSink} from '../../src/transport/file.js'
import {ACTORS, LEVELS, VALUES, writeMixedFile} from '../canonical-fuzz.js'
import {seededRandom, tempDir} from '../helpers.js'

// The encoders' fast roads (ECS written as text, tested for safeJson's work part by part; CEF's
// values tested once for escaping) against their references, over a generated file of the writer's
// lines and bent ones.

const {random, pick} = seededRandom(23)
const mostly = <T>(items: readonly T[], good: number): T => (random() < 0.8 ? items[Math.floor(random() * good)] : pick(items))

const EVENTS = ['auth.fail', 'api.request', 'file.read', 'process.spawn', 'weird', 'auth.\u00fcber', 'a"b.c']
const KEYS = ['ip', 'source_ip', 'method', 'hostname', 'pid', 'path', '0', '10', '__proto__', 'k"q', '\u00e9', 'a\\b']
const HOSTS = ['web-1', 'worker-2', '', 'h=st', 'h"ost', 'h\u00f6st', 'ctl\x01', 7]
/** Actors beside the shared ones: what CEF escapes in printable ASCII. */
const MORE_ACTORS = ['eq=sign', 'a|b']
/** What safeJson escapes and JSON.stringify does not, beside the shared values. */
const UNSAFE = ['ls\u2028', 'x\u202e', 'del\x7f', 'csi\x9b']
const IPS = ['10.0.4.17', '::ffff:1.2.3.4', '2001:db8::1', '1.2.3.256', '01.2.3.4', 'not an ip']
const TIMES = [
  '2026-11-18T23:51:22.349Z',
  '1970-01-01T00:00:00.999Z',
  '1970-01-01T00:16:40.000Z',
  '2026-11-18T23:51:22Z',
  '1969-12-31T23:59:59.000Z',
]

function randomObject(keys: string[]): Record<string, unknown> {
  const object: Record<string, unknown> = {}
  const n = Math.floor(random() * 4)
  for (let i = 0; i < n; i++) {
    const key = mostly(keys, 5)
    const r = random()
    const value = r < 0.3 ? pick(IPS) : r < 0.4 ? pick(UNSAFE) : mostly(VALUES, 2)
    Object.defineProperty(object, key, {value, enumerable: true, writable: true, configurable: true})
  }
  return object
}

/** Text edits the full decoder reads: duplicate and integer-like keys, escapes, spellings of numbers, spaces. */
const BENDS: Array<(line: string) => string> = [
  (l) => l.replace('"details":{', '"details":{"ip":"1.2.3.4","ip":"5.6.7.8",'),
  (l) => l.replace('"metadata":{', '"metadata":{"2":1,"1":"x",'),
  (l) => l.replace('"metadata":{', '"metadata":{"pid":1E+3,"n":-0.0,"m":1.50,'),
  (l) => l.replace('"actor":"', '"actor":"\\u0061'),
  (l) => l.replace('"details":{', '"details":{"k":"\\u00e9\\u2028\\\\",'),
  (l) => l.replace('","event":', '", "event":'),
  (l) => l.replace(/"chain_hash":"[0-9a-f]*"/, '"chain_hash":"A\\"B"'),
  // Still the writer's form: JSON.parse reads these, and JSON.stringify does not give them back as written.
  (l) => l.replace('"details":{', '"details":{"n":1e21,"m":1.5e-7,"big":12345678901234567890,"z":-0,'),
  (l) => l.replace('"details":{', '"details":{"status":404,"success":true,"method":"delete","x=y":"a=b",'),
  (l) => l.replace('"metadata":{', '"metadata":{"hostname":"dup","pid":9007199254740993,'),
]

function randomLine(): string {
  const metadata =
    random() < 0.6 ? {hostname: pick(HOSTS), pid: mostly([4033, 1, -0, 1.5, '7', 2 ** 53], 2), version: '1.4.2'} : randomObject(KEYS)
  const body = serializeBody({
    timestamp: mostly(TIMES, 3),
    event: mostly(EVENTS, 4),
    level: mostly(LEVELS, 4) as 'info',
    actor: random() < 0.1 ? pick(MORE_ACTORS) : mostly(ACTORS, 2),
    details: randomObject(KEYS),
    metadata,
  })
  const line = random() < 0.8 ? chainLine(body, GENESIS).line : body
  return random() < 0.2 ? pick(BENDS)(line) : line
}

async function entriesOf(path: string): Promise<LocatedEntry[]> {
  const entries: LocatedEntry[] = []
  for await (const batch of decodeFile({path, gzip: false}, {}, new Diagnostics())) entries.push(...batch)
  return entries
}

test('ecs, ecs-bulk and cef fast roads agree with their references on a generated file full of damage', async () => {
  const path = join(tempDir(), 'audit-2026-11-18.jsonl')
  writeMixedFile(path, 3000, {
    random,
    line: () => randomLine(),
    recoveryTime: () => '2026-11-18T23:59:00.000Z',
    unterminated: true,
  })
  const entries = await entriesOf(path)
  assert.ok(entries.length > 2000, `${entries.length} entries decoded`)
  const ecs = createFormat('ecs', {})
  const bulk = createFormat('ecs-bulk', {options: {index: 'logs-audit'}})
  const cef = createFormat('cef', {})
  let plain = 0
  for (const e of entries) {
    const expected = safeJson(ecsDocument(e, {version: '9.4.0'}))
    assert.equal(ecs.encode(e, 0), `${expected}\n`, e.raw)
    assert.equal(bulk.encode(e, 0), `${bulkAction(e, 'logs-audit')}\n${expected}\n`, e.raw)
    if (!/[^\x20-\x7e]/.test(e.raw)) plain++
    const line = cef.encode(e, 0)
    const {event, actor, details} = e.entry
    assert.ok(line.includes(` suser=${cefValue(actor)} `) && line.includes(` msg=${cefValue(`${event} by ${actor}`)} `), e.raw)
    assert.ok(line.includes(` cs1=${cefValue(safeJson(details))}`), e.raw)
  }
  // The file holds both kinds in number: the test reaches both roads.
  assert.ok(plain > 500 && entries.length - plain > 300, `${plain} of ${entries.length} printable ASCII`)
})

test('cef, ecs and ecs-bulk: the bytes road writes what the text road writes for every line it takes, in a file and threaded', {
  timeout: 180_000,
}, async () => {
  const dir = tempDir()
  const path = join(dir, 'audit-2026-11-18.jsonl')
  writeMixedFile(path, 3000, {random, line: () => randomLine(), recoveryTime: () => '2026-11-18T23:59:00.000Z', unterminated: true})
  const lines = readFileSync(path, 'utf8').split('\n')
  for (const [name, options] of [
    ['cef', {}],
    ['ecs', {}],
    ['ecs-bulk', {index: 'logs-audit'}],
  ] as const) {
    const format = exportFormat(name, options, undefined)
    let taken = 0
    let declined = 0
    for (const [i, text] of lines.entries()) {
      const canonical = readCanonical(text)
      if (canonical === undefined) continue
      const decoded = decodeLine(text)
      assert.ok(decoded.ok, text)
      const out = new ByteChunks()
      if (!format.encodeCanonical!(canonical, out)) {
        declined++
        assert.equal(out.pos, 0, text)
        continue
      }
      taken++
      const located = {entry: decoded.entry, time: decoded.time, file: path, line: i + 1, raw: text, profile: decoded.profile}
      assert.equal(Buffer.concat(out.finish()).toString(), format.encode(located, 0), `${name}: ${text}`)
    }
    // Both roads are reached, the bytes road's refusals included.
    assert.ok(taken > 500 && declined > 100, `${name}: ${taken} taken, ${declined} declined`)
    // Threads take the bytes road, the one-thread loop the text road: the same file, diagnostics and counts.
    const exports = []
    for (const parallelBytes of [Number.POSITIVE_INFINITY, 0]) {
      const out = join(tempDir(), `out.${name}`)
      const diagnostics = new Diagnostics()
      const result = await runExport({
        dir,
        filter: {},
        format: name,
        formatOptions: options,
        sink: await FileSink.open(out),
        diagnostics,
        parallelBytes,
        rangeBytes: 64 * 1024,
      })
      exports.push({bytes: readFileSync(out), lines: diagnostics.lines(), result})
    }
    assert.ok(exports[0].result.exported > 2000)
    assert.deepEqual(exports[1], exports[0], name)
  }
})

import assert from 'node:assert/strict'
import {test} from 'node:test'

import type {AuditEntry, LocatedEntry} from '../../src/events/model.js'
import type {CodecContext} from '../../src/formats/codec.js'
import {csvCell, neutraliseFormula} from '../../src/formats/csv.js'
import type {EntryFormat} from '../../src/formats/format.js'
import {loadPaint} from '../../src/formats/paint.js'
import {compactDetails} from '../../src/formats/pretty.js'
import {CODEC_NAMES, createFormat} from '../../src/formats/registry.js'

const csvFormat = createFormat('csv')
const jsonFormat = createFormat('json')
const jsonlFormat = createFormat('jsonl')
const prettyFormat = (context: CodecContext = {}) => createFormat('pretty', context)

function located(partial: Partial<AuditEntry> = {}): LocatedEntry {
  const entry: AuditEntry = {
    timestamp: '2026-11-02T10:00:00.000Z',
    event: 'auth.login',
    level: 'info',
    actor: 'alice',
    details: {ip: '10.0.0.5'},
    metadata: {hostname: 'h'},
    chain_hash: 'a'.repeat(64),
    ...partial,
  }
  return {
    entry,
    time: Date.parse(entry.timestamp),
    file: '/var/log/audit/audit-2026-11-02.jsonl',
    line: 7,
    raw: JSON.stringify(entry),
    profile: 'native',
  }
}

function render(format: EntryFormat, entries: LocatedEntry[]): string {
  return (format.begin ?? '') + entries.map((e, i) => format.encode(e, i)).join('') + (format.end ?? '')
}

/** A small RFC 4180 parser, to check what a spreadsheet would read back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"'
        i++
      } else if (ch === '"') quoted = false
      else cell += ch
    } else if (ch === '"') quoted = true
    else if (ch === ',') {
      row.push(cell)
      cell = ''
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell)
      rows.push(row)
      row = []
      cell = ''
      i++
    } else cell += ch
  }
  return rows
}

test('csv: header, one row per entry, CRLF, details/metadata as JSON, file basename and line', () => {
  const text = render(csvFormat, [located()])
  const rows = parseCsv(text)
  assert.deepEqual(rows[0], ['timestamp', 'event', 'level', 'actor', 'details', 'metadata', 'chain_hash', 'file', 'line'])
  assert.deepEqual(rows[1], [
    '2026-11-02T10:00:00.000Z',
    'auth.login',
    'info',
    'alice',
    '{"ip":"10.0.0.5"}',
    '{"hostname":"h"}',
    'a'.repeat(64),
    'audit-2026-11-02.jsonl',
    '7',
  ])
  assert.equal(rows.length, 2)
  assert.ok(text.endsWith('\r\n'))
})

test('csv quoting: comma, quote, CR and LF quote the cell; quotes doubled; round trip', () => {
  assert.equal(csvCell('plain'), 'plain')
  assert.equal(csvCell('a,b'), '"a,b"')
  assert.equal(csvCell('say "hi"'), '"say ""hi"""')
  assert.equal(csvCell('two\nlines'), '"two\nlines"')
  const actor = 'o\'neil, "the" admin\r\nline2'
  assert.equal(parseCsv(render(csvFormat, [located({actor})]))[1][3], actor)
})

test('csv formula neutralisation: cells starting = + - @ tab CR get a leading quote', () => {
  for (const start of ['=', '+', '-', '@', '\t', '\r']) {
    const value = `${start}HYPERLINK("http://evil","x")`
    assert.equal(neutraliseFormula(value), `'${value}`)
    const rows = parseCsv(render(csvFormat, [located({actor: value})]))
    assert.equal(rows[1][3], `'${value}`, JSON.stringify(start))
  }
  assert.equal(neutraliseFormula('alice=bob'), 'alice=bob')
  assert.equal(neutraliseFormula('1-2'), '1-2')
})

test('csv: every cell is neutralised, including events and actors from loki-mode mapping', () => {
  const rows = parseCsv(render(csvFormat, [located({actor: '@SUM(A1)', event: 'a.b'})]))
  assert.ok(rows[1].every((cell) => !/^[=+\-@\t\r]/.test(cell)))
})

test('jsonl: one native entry per line that parses back', () => {
  const entries = [located(), located({actor: 'bob\n"x"', details: {msg: '\u001b[31m'}})]
  const text = render(jsonlFormat, entries)
  const lines = text.split('\n')
  assert.equal(lines.pop(), '')
  assert.deepEqual(
    lines.map((l) => JSON.parse(l)),
    entries.map((e) => e.entry),
  )
})

test('json: one array document, also when empty', () => {
  const entries = [located(), located({actor: 'bob'})]
  assert.deepEqual(
    JSON.parse(render(jsonFormat, entries)),
    entries.map((e) => e.entry),
  )
  assert.deepEqual(JSON.parse(render(jsonFormat, [])), [])
})

test('pretty: time, level, event, actor, compact details', () => {
  const line = render(prettyFormat(), [located({details: {ip: '10.0.0.5', reason: 'bad password', n: 3}})])
  assert.equal(line, '2026-11-02T10:00:00.000Z info    auth.login alice ip=10.0.0.5 reason="bad password" n=3\n')
  assert.equal(compactDetails({}), '')
})

test('pretty strips escape sequences, control characters and bidi overrides from every field', async () => {
  const evil = 'x\u001b[2J\u001b]0;title\u0007\u009b1m\u202e\u0000\r\u2066y'
  const entry = located({
    timestamp: '2026-11-02T10:00:00.000Z',
    event: 'auth.login',
    actor: evil,
    details: {[evil]: evil, nested: {k: evil}, plain: `a${evil}`},
  })
  for (const color of [false, true]) {
    const out = render(prettyFormat({paint: await loadPaint(color)}), [entry])
    const withoutColour = out.replace(/\u001b\[[0-9;]*m/g, '')
    assert.doesNotMatch(withoutColour, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/, `color ${color}`)
    assert.equal(withoutColour.split('\n').length, 2)
    assert.ok(withoutColour.includes('xy'))
  }
  // a timestamp from a loki-mode line is shown as written, and sanitised too
  const odd = {...located(), entry: {...located().entry, timestamp: '2026-11-02T10:00:00+00:00\u001b[31m'}}
  assert.doesNotMatch(render(prettyFormat(), [odd]), /\u001b/)
})

test('pretty --local shows local time with its offset', () => {
  const saved = process.env.TZ
  process.env.TZ = 'Asia/Kolkata'
  try {
    const out = render(prettyFormat({local: true}), [located()])
    assert.ok(out.startsWith('2026-11-02T15:30:00.000+05:30 '), out)
  } finally {
    if (saved === undefined) delete process.env.TZ
    else process.env.TZ = saved
  }
})

test('csv, json and jsonl: log content cannot drive the terminal; JSON stays the same value', () => {
  const evil = 'x\u001b]0;PWNED\u0007\u001b[31mred\u009b1m\u202e\u2066\u007f\u2028y'
  // chain_hash too: reading checks only its length (a loki-mode _integrity_hash can be any string).
  const entry = located({actor: evil, details: {[evil]: evil}, metadata: {host: evil}, chain_hash: evil.padEnd(64, 'x')})
  const unsafe = /[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/
  for (const [name, format] of [
    ['csv', csvFormat],
    ['json', jsonFormat],
    ['jsonl', jsonlFormat],
  ] as const) {
    assert.doesNotMatch(render(format, [entry]), unsafe, name)
  }
  assert.deepEqual(JSON.parse(render(jsonlFormat, [entry])), entry.entry)
  assert.deepEqual(JSON.parse(render(jsonFormat, [entry]))[0], entry.entry)
})

test('every format writes a nesting bomb in details depth-limited instead of crashing', () => {
  let deep: unknown = 'bottom'
  for (let i = 0; i < 5000; i++) deep = {a: deep}
  const plain = located()
  const bomb: LocatedEntry = {...plain, entry: {...plain.entry, details: {deep}}, raw: '(as read)'}
  for (const name of CODEC_NAMES) {
    const out = render(createFormat(name), [bomb, located({actor: 'bob'})])
    assert.match(out, /nested deeper than 64 levels/, name)
    assert.match(out, /bob/, name)
    if (name === 'json') assert.equal(JSON.parse(out).length, 2)
  }
})

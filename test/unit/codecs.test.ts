import assert from 'node:assert/strict'
import {test} from 'node:test'

import type {AuditEntry, LocatedEntry} from '../../src/events/model.js'
import {FRAMINGS} from '../../src/formats/framing.js'
import {loadPaint} from '../../src/formats/paint.js'
import {CODEC_NAMES, CODECS, codecOptions, createFormat, getCodec} from '../../src/formats/registry.js'

// Every registered codec is held to these rules the day it is added to the registry.

const EVIL = 'x\u001b]0;PWNED\u0007\u001b[31mred\u009b1m\u202e\u2066\u007f\u2028\u0000\r\nforged: line\ty'

function hostile(partial: Partial<AuditEntry> = {}): LocatedEntry {
  const entry: AuditEntry = {
    timestamp: '2026-11-02T10:00:00.000Z',
    event: 'auth.fail',
    level: 'warning',
    actor: `=cmd|' /C calc'!A0${EVIL}`,
    details: {[EVIL]: EVIL, ip: '10.0.0.5', nested: {deep: [EVIL, 1, null]}},
    metadata: {hostname: `h${EVIL}`, pid: 42},
    chain_hash: 'a'.repeat(64),
    ...partial,
  }
  return {
    entry,
    time: Date.parse(entry.timestamp),
    file: '/logs/audit-2026-11-02.jsonl',
    line: 3,
    raw: JSON.stringify(entry),
    profile: 'native',
  }
}

function render(name: string, entries: LocatedEntry[], color = false): Promise<string> {
  return loadPaint(color).then((paint) => {
    const format = createFormat(name, {paint})
    return (format.begin ?? '') + entries.map((e, i) => format.encode(e, i)).join('') + (format.end ?? '')
  })
}

// Raw C0 (but tab, LF, CR), DEL, C1, line/paragraph separators and bidi controls: what a terminal or reader acts on.
const UNSAFE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/

for (const codec of CODECS) {
  test(`codec ${codec.name}: log content cannot drive the terminal`, async () => {
    for (const color of [false, true]) {
      const out = (await render(codec.name, [hostile(), hostile({event: 'x.y'})], color)).replace(/\u001b\[[0-9;]*m/g, '')
      assert.doesNotMatch(out, UNSAFE, `color ${color}`)
    }
  })

  if (!codec.multiline) {
    test(`codec ${codec.name}: no log content can split an entry into two records`, async () => {
      const format = createFormat(codec.name)
      for (const entry of [hostile(), hostile({actor: 'a\nb\r\nc', details: {m: 'one\ntwo\rthree\u2028four'}})]) {
        const record = format.encode(entry, 1)
        const framed = FRAMINGS[codec.framing].frame('R', 1)
        const breaks = (text: string) => text.split(/\r\n|\n|\r/).length
        assert.equal(breaks(record), breaks(framed), JSON.stringify(record))
      }
    })
  }

  test(`codec ${codec.name}: no cell a spreadsheet would run as a formula`, async () => {
    const out = await render(codec.name, [hostile(), hostile({actor: '@SUM(A1)', event: '+x.y'})])
    // Cells are comma-, tab- or line-separated fields; none may start a formula unquoted.
    if (codec.mediaType === 'text/csv') {
      for (const line of out.split('\r\n'))
        for (const cell of line.split(',')) assert.doesNotMatch(cell.replace(/^"/, ''), /^[=+\-@]/, cell)
    }
  })

  test(`codec ${codec.name}: empty options are valid, unknown ones are refused naming the format`, () => {
    assert.doesNotThrow(() => codecOptions(codec, {}))
    assert.throws(() => codecOptions(codec, {noSuchOption: 1}, '--format-option'), new RegExp(`format ${codec.name}, --format-option`))
  })
}

test('registry: names are unique, every codec can be looked up, an unknown name lists the known ones', () => {
  assert.equal(new Set(CODEC_NAMES).size, CODEC_NAMES.length)
  for (const name of CODEC_NAMES) assert.equal(getCodec(name).name, name)
  assert.throws(() => getCodec('xml'), /unknown format "xml": expected one of pretty, json/)
})

test('framing: newline, CRLF, JSON array (also empty) and RFC 6587 octet counting in bytes', () => {
  assert.equal(FRAMINGS.newline.frame('a', 0), 'a\n')
  assert.equal(FRAMINGS.crlf.frame('a', 0), 'a\r\n')
  const array = FRAMINGS['json-array']
  assert.deepEqual(JSON.parse(array.begin + array.frame('1', 0) + array.frame('2', 1) + array.end), [1, 2])
  assert.deepEqual(JSON.parse(array.begin + array.end), [])
  assert.equal(FRAMINGS['octet-counting'].frame('<14>1 é', 0), '8 <14>1 é')
})

test("createFormat: another framing than the codec's own", () => {
  const format = createFormat('jsonl', {framing: 'octet-counting'})
  const record = format.encode(hostile(), 0)
  const [length, ...rest] = record.split(' ')
  assert.equal(Number(length), Buffer.byteLength(rest.join(' ')))
  assert.deepEqual(JSON.parse(rest.join(' ')), hostile().entry)
})

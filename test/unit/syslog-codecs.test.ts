import assert from 'node:assert/strict'
import {test} from 'node:test'

import type {AuditEntry, LocatedEntry} from '../../src/events/model.js'
import {bsdTimestamp, truncateUtf8} from '../../src/formats/rfc3164.js'
import {rfc5424Timestamp, sdValue} from '../../src/formats/rfc5424.js'
import {codecOptions, createFormat, getCodec} from '../../src/formats/registry.js'

function located(partial: Partial<AuditEntry> = {}): LocatedEntry {
  const entry: AuditEntry = {
    timestamp: '2003-10-11T22:14:15.003Z',
    event: 'auth.fail',
    level: 'warning',
    actor: 'alice',
    details: {ip: '10.0.0.5'},
    metadata: {hostname: 'mymachine.example.com', pid: 8710, version: '1.0.0'},
    chain_hash: 'ab'.repeat(32),
    ...partial,
  }
  return {entry, time: Date.parse(entry.timestamp), file: '/l/audit-2003-10-11.jsonl', line: 1, raw: '', profile: 'native'}
}

const encode = (name: string, entry: LocatedEntry, options?: unknown, local?: boolean) =>
  createFormat(name, {options, local}).encode(entry, 0)

test('rfc5424: the whole line for a known entry (golden)', () => {
  const json = JSON.stringify(located().entry)
  assert.equal(
    encode('rfc5424', located()),
    `<132>1 2003-10-11T22:14:15.003Z mymachine.example.com auditkit 8710 auth.fail [auditkit@32473 actor="alice" chain_hash="${'ab'.repeat(32)}"] ${json}\n`,
  )
})

test('rfc5424: PRI from level on LOCAL0 (debug 135, info 134, warning 132, error 131); RFC check value local4 = 165 base', () => {
  const pri = (level: AuditEntry['level'], options?: unknown, event = 'api.request') =>
    /^<(\d+)>1 /.exec(encode('rfc5424', located({level, event}), options))?.[1]
  assert.deepEqual(
    ['debug', 'info', 'warning', 'error'].map((l) => pri(l as AuditEntry['level'])),
    ['135', '134', '132', '131'],
  )
  assert.equal(pri('info', {facility: 'local4'}), String(20 * 8 + 6))
  assert.equal(pri('error', {facility: 'kern'}), '3')
  assert.equal(pri('info', {facility: 0}), '6', 'facility 0 is kept (syslog-client loses it)')
})

test('rfc5424: security-relevant events go out at WARNING or above; the set is configurable', () => {
  const pri = (event: string, level: AuditEntry['level'], options?: unknown) =>
    /^<(\d+)>/.exec(encode('rfc5424', located({event, level}), options))?.[1]
  assert.equal(pri('auth.fail', 'info'), '132')
  assert.equal(pri('auth.token.revoke', 'debug'), '132')
  assert.equal(pri('user.delete', 'info'), '132')
  assert.equal(pri('config.change', 'info'), '132')
  assert.equal(pri('auth.fail', 'error'), '131', 'never lowered')
  assert.equal(pri('auth.login', 'info'), '134')
  assert.equal(pri('auth.login', 'info', {securityEvents: ['auth.*']}), '132')
  assert.equal(pri('user.delete', 'info', {securityEvents: []}), '134')
})

test('rfc5424: SD-PARAM values escape " \\ ] (spec vector 7); header fields are PRINTUSASCII, bounded, or NILVALUE', () => {
  assert.equal(sdValue('a "quoted" \\ back ] bracket'), 'a \\"quoted\\" \\\\ back \\] bracket')
  const line = encode(
    'rfc5424',
    located({actor: 'a "quoted" \\ back ] bracket', metadata: {hostname: 'bad host\nname', pid: 'x y'}, event: `x.${'y'.repeat(40)}`}),
  )
  assert.match(line, /\[auditkit@32473 actor="a \\"quoted\\" \\\\ back \\] bracket" chain_hash="/)
  const [, , host, app, procid, msgid] = line.split(' ')
  assert.equal(host, 'bad_host_name')
  assert.equal(app, 'auditkit')
  assert.equal(procid, 'x_y')
  assert.equal(msgid.length, 32)
  const bare = encode('rfc5424', located({metadata: {}, chain_hash: undefined}))
  assert.match(bare, /^<132>1 2003-10-11T22:14:15.003Z - auditkit - auth\.fail \[auditkit@32473 actor="alice"\] \{/)
})

test('rfc5424: a newline, NUL or escape sequence in any field cannot split or forge a message', () => {
  const evil = 'x\n<13>1 2003-01-01T00:00:00Z forged - - - - hi\u0000\u001b[31m\r'
  const line = encode('rfc5424', located({actor: evil, details: {note: evil}, metadata: {hostname: evil, pid: evil}}))
  assert.equal(line.indexOf('\n'), line.length - 1)
  assert.doesNotMatch(line.slice(0, -1), /[\u0000-\u001f\u007f]/)
  assert.deepEqual(JSON.parse(line.slice(line.indexOf('] {') + 2)).details, {note: evil}, 'MSG keeps the entry exactly, escaped as JSON')
})

test('rfc5424: timestamps keep their offset and at most 6 fractional digits (spec vector 5)', () => {
  assert.equal(rfc5424Timestamp('2003-08-24T05:14:15.000003-07:00'), '2003-08-24T05:14:15.000003-07:00')
  assert.equal(rfc5424Timestamp('2003-08-24T05:14:15.000000003-07:00'), '2003-08-24T05:14:15.000000-07:00')
  assert.equal(rfc5424Timestamp('1985-04-12T23:20:50.52Z'), '1985-04-12T23:20:50.52Z')
})

test('rfc5424: options are validated: app name, SD-ID form, facility', () => {
  const codec = getCodec('rfc5424')
  assert.throws(() => codecOptions(codec, {appName: 'has space'}), /format rfc5424, options: appName: expected 1-48 printable/)
  assert.throws(() => codecOptions(codec, {sdId: 'nopen'}), /sdId: expected name@ENTERPRISE-NUMBER/)
  assert.throws(() => codecOptions(codec, {facility: 'local9'}), /facility: expected a facility name/)
  assert.match(
    encode('rfc5424', located(), {appName: 'gw', sdId: 'audit@99999', bom: true}),
    /^<132>1 \S+ \S+ gw 8710 auth\.fail \[audit@99999 actor="alice" chain_hash="[a-f0-9]+"\] \ufeff\{/,
  )
})

test('syslog: <PRI> and the body on every line, for logger --prio-prefix', () => {
  const format = createFormat('syslog')
  const lines = [located({level: 'error'}), located({level: 'info', event: 'api.request'}), located({level: 'debug', event: 'x.y'})].map(
    (e, i) => format.encode(e, i),
  )
  assert.deepEqual(
    lines.map((l) => /^<(\d+)>/.exec(l)?.[1]),
    ['131', '134', '135'],
  )
  assert.equal(lines[1], `<134>api.request ${JSON.stringify(located({level: 'info', event: 'api.request'}).entry)}\n`)
})

test('rfc3164: spec vector form <34>Oct 11 22:14:15 mymachine su: …; the day padded with a space', () => {
  const line = encode('rfc3164', located({level: 'error'}), {facility: 'auth', tag: 'su'})
  assert.match(line, /^<35>Oct 11 22:14:15 mymachine su\[8710\]: \{"event":"auth\.fail","level":"error","actor":"alice","chain_hash":/)
  assert.equal(bsdTimestamp(Date.parse('2025-02-05T17:32:18Z')), 'Feb  5 17:32:18')
  assert.match(encode('rfc3164', located({metadata: {hostname: '10.0.0.99'}})), / 10\.0\.0\.99 auditkit: /)
})

test('rfc3164: at most 1024 bytes, truncation marked, never a broken UTF-8 sequence', () => {
  for (let pad = 0; pad < 4; pad++) {
    const line = encode('rfc3164', located({details: {text: `${'x'.repeat(pad)}${'é€😀'.repeat(400)}`}})).slice(0, -1)
    const bytes = Buffer.from(line)
    assert.ok(bytes.length <= 1024, String(bytes.length))
    assert.ok(line.endsWith(' [truncated]'))
    assert.doesNotThrow(() => new TextDecoder('utf-8', {fatal: true}).decode(bytes))
    assert.doesNotMatch(line, /\ufffd/)
  }
  assert.equal(truncateUtf8('aé', 2), 'a')
  const short = encode('rfc3164', located())
  assert.doesNotMatch(short, /truncated/)
})

import assert from 'node:assert/strict'
import {isIP} from 'node:net'
import {test} from 'node:test'

import {parse as parseCsv} from 'csv-parse/sync'

import type {AuditEntry, LocatedEntry} from '../../src/events/model.js'
import {cefHeader, cefValue} from '../../src/formats/cef.js'
import {ecsDocument} from '../../src/formats/ecs.js'
import {bulkAction} from '../../src/formats/ecs-bulk.js'
import {outcomeFor, outcomeOf, sourceIpOf} from '../../src/formats/event-class.js'
import {declaredDelimiter, leefValue} from '../../src/formats/leef.js'
import {lokiTime} from '../../src/formats/loki.js'
import {codecOptions, createFormat, getCodec} from '../../src/formats/registry.js'
import {hecTime} from '../../src/formats/splunk-hec.js'
import {safeJson} from '../../src/text/sanitize.js'

const HASH = 'c500b18d7d68bd401618b99fcf04f18689d2c7adfca5ea1b617fa94b55484034'

function located(partial: Partial<AuditEntry> = {}): LocatedEntry {
  const entry: AuditEntry = {
    timestamp: '2026-11-18T23:51:22.349Z',
    event: 'auth.fail',
    level: 'warning',
    actor: 'mallory',
    details: {ip: '10.0.7.22', reason: 'bad password'},
    metadata: {hostname: 'worker-1', pid: 4044, version: '1.4.2'},
    chain_hash: HASH,
    ...partial,
  }
  return {
    entry,
    time: Date.parse(entry.timestamp),
    file: '/logs/audit-2026-11-18.jsonl',
    line: 7,
    raw: JSON.stringify(entry),
    profile: 'native',
  }
}

function render(name: string, entries: LocatedEntry[], options?: unknown): string {
  const format = createFormat(name, {options})
  return (format.begin ?? '') + entries.map((e, i) => format.encode(e, i)).join('') + (format.end ?? '')
}

/** A CEF parser after the spec (§5): header split at unescaped `|`, extension at ` key=`, escapes undone. */
function parseCef(line: string): {header: string[]; extension: Record<string, string>} {
  const header: string[] = []
  let at = 0
  let field = ''
  while (header.length < 7) {
    const c = line[at++]
    if (c === '\\') field += line[at++]
    else if (c === '|') {
      header.push(field)
      field = ''
    } else field += c
  }
  const extension: Record<string, string> = {}
  const rest = line.slice(at)
  const keys = [...rest.matchAll(/(?:^| )([A-Za-z0-9_]+)=/g)].filter((m) => m.index === 0 || rest[m.index - 1] !== '\\')
  keys.forEach((m, i) => {
    const start = m.index + m[0].length
    const end = i + 1 < keys.length ? keys[i + 1].index : rest.length
    extension[m[1]] = rest.slice(start, end).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c))
  })
  return {header, extension}
}

test("cef: the spec's escaping vectors, header apart from extension", () => {
  assert.equal(cefHeader('detected a | in message', 512), 'detected a \\| in message')
  assert.equal(cefHeader('detected a \\ in packet', 512), 'detected a \\\\ in packet')
  assert.equal(cefHeader('detected a = in message', 512), 'detected a = in message')
  assert.equal(cefHeader('security\\compliance', 63), 'security\\\\compliance')
  assert.equal(cefHeader('threat|->manager', 63), 'threat\\|->manager')
  assert.equal(cefValue('blocked a |'), 'blocked a |')
  assert.equal(cefValue('blocked a \\'), 'blocked a \\\\')
  assert.equal(cefValue('blocked a ='), 'blocked a \\=')
  assert.equal(
    cefValue('Newlines in messages\nare allowed.\r\nAnd so are carriage feeds\\newlines\\='),
    'Newlines in messages\\nare allowed.\\r\\nAnd so are carriage feeds\\\\newlines\\\\\\=',
  )
  assert.equal(cefHeader('two\nlines', 63), 'two lines')
})

test('cef: golden line; rt in ms, severity from level, labelled custom strings', () => {
  assert.equal(
    render('cef', [located()]),
    `CEF:0|auditkit|auditkit|1|auth.fail|auth.fail|6|rt=1795045882349 cat=auth.fail act=fail suser=mallory outcome=failure dvchost=worker-1 dvcpid=4044 src=10.0.7.22 msg=auth.fail by mallory cs1Label=details cs1={"ip":"10.0.7.22","reason":"bad password"} cs2Label=chainHash cs2=${HASH}\n`,
  )
  const vendor = render('cef', [located({level: 'error'})], {vendor: 'Sec|urity', product: 'a\\b', version: '2.0'})
  assert.match(vendor, /^CEF:0\|Sec\\\|urity\|a\\\\b\|2\.0\|auth\.fail\|auth\.fail\|8\|/)
})

test('cef: hostile values survive a spec parser unchanged (round trip)', () => {
  const actor = 'eve act=forged cs1=x \\ | = \r\n end'
  const details = {note: 'a=b\\c|d\ne'}
  const {header, extension} = parseCef(render('cef', [located({actor, details})], {vendor: 'V|x\\'}).trimEnd())
  assert.deepEqual(header.slice(0, 7), ['CEF:0', 'V|x\\', 'auditkit', '1', 'auth.fail', 'auth.fail', '6'])
  assert.equal(extension.suser, actor)
  assert.deepEqual(JSON.parse(extension.cs1), details)
  assert.equal(extension.act, 'fail')
  assert.equal(extension.cs2, HASH)
})

test('cef options: too long or multi-line header fields are refused naming the option', () => {
  assert.throws(() => codecOptions(getCodec('cef'), {vendor: 'x'.repeat(64)}), /format cef, options: vendor:/)
  assert.throws(() => codecOptions(getCodec('cef'), {product: 'a\nb'}), /format cef, options: product: no line breaks/)
})

test('leef: 2.0 header with the declared delimiter (spec vector shape), devTime, usrName, sev, cat', () => {
  const line = render('leef', [located()], {vendor: 'Lancope', product: 'StealthWatch', version: '1.0', delimiter: '^'})
  assert.equal(
    line,
    `LEEF:2.0|Lancope|StealthWatch|1.0|auth.fail|^|devTime=1795045882349^usrName=mallory^sev=6^cat=failure^level=warning^src=10.0.7.22^details={"ip":"10.0.7.22","reason":"bad password"}^chainHash=${HASH}\n`,
  )
  const tab = render('leef', [located({actor: 'a\tb^c\r\nd'})])
  assert.match(tab, /^LEEF:2\.0\|auditkit\|auditkit\|1\|auth\.fail\|x09\|devTime=1795045882349\tusrName=a b\^c d\t/)
  assert.equal(tab.trimEnd().split('\t').length, 8)
  assert.equal(declaredDelimiter('\t'), 'x09')
  assert.equal(declaredDelimiter('^'), '^')
  assert.equal(leefValue('a^b\nc', '^'), 'ab c')
  assert.throws(() => codecOptions(getCodec('leef'), {delimiter: '|'}), /format leef, options: delimiter/)
  assert.throws(() => codecOptions(getCodec('leef'), {delimiter: '='}), /format leef, options: delimiter/)
})

test('ecs: golden document; required fields and the category/type pairs ECS allows', () => {
  const doc = JSON.parse(render('ecs', [located()]))
  assert.deepEqual(doc, {
    '@timestamp': '2026-11-18T23:51:22.349Z',
    message: 'auth.fail by mallory',
    ecs: {version: '9.4.0'},
    event: {kind: 'event', action: 'auth.fail', category: ['authentication'], type: ['start'], outcome: 'failure', severity: 4, id: HASH},
    log: {level: 'warning'},
    user: {name: 'mallory'},
    host: {hostname: 'worker-1'},
    process: {pid: 4044},
    source: {ip: '10.0.7.22'},
    auditkit: {
      details: {ip: '10.0.7.22', reason: 'bad password'},
      metadata: {hostname: 'worker-1', pid: 4044, version: '1.4.2'},
      chain_hash: HASH,
    },
  })
  const logout = JSON.parse(render('ecs', [located({event: 'auth.logout', level: 'info', details: {ip: 'not-an-ip'}})]))
  assert.deepEqual([logout.event.type, logout.event.outcome, logout.source], [['end'], 'success', undefined])
  const api = JSON.parse(render('ecs', [located({event: 'api.request', details: {method: 'POST', status: 200}})], {version: '8.17.0'}))
  assert.deepEqual([api.event.category, api.event.type, api.event.outcome, api.ecs.version], [['api'], ['creation'], 'success', '8.17.0'])
  const other = JSON.parse(render('ecs', [located({event: 'file.write', metadata: {}})]))
  assert.deepEqual([other.event.category, other.event.type, other.host, other.process], [['file'], ['change'], undefined, undefined])
})

test('ecs and ecs-bulk written as text are byte for byte safeJson of the document and action, hostile or plain', () => {
  let deep: unknown = 'bottom'
  for (let i = 0; i < 20_000; i++) deep = {d: deep}
  const entries = [
    located(),
    located({event: 'api.request', details: {method: 'delete', ip: '2001:db8::1', user_agent: 'curl/8'}}),
    located({event: 'process.spawn', actor: 'r\u00e9my "q"', details: {cmd: 'ls\u2028\u202e\x7f\x1b[31m'}, metadata: {pid: -0}}),
    located({event: 'weird', level: 'debug', chain_hash: undefined, metadata: {hostname: '', pid: 1.5}}),
    located({event: 'user.create', details: JSON.parse('{"__proto__":{"x":1},"toJSON":"no"}'), chain_hash: 'NOT-HEX'}),
    {...located({event: 'file.read'}), entry: {...located().entry, details: {deep}}},
    located({event: 'auth.login', details: {name: '\u{e0041}\u200b\ufeff'}}),
    // Strings quoted as they are only when plain: a backslash, a quote, a control, a non-ASCII name.
    located({actor: 'back\\slash', metadata: {hostname: 'h"ost', pid: 7}}),
    located({actor: 'ctl\x01x', details: {ip: '10.0.0.1'}}),
    located({event: 'auth.\u00fcber', details: {ip: '01.2.3.4'}}),
    located({event: 'auth.login', details: {source_ip: '::ffff:1.2.3.4', ip: '1.2.3.256'}, chain_hash: 'a"b'}),
    located({event: 'api.request', details: {method: 'PUT'}, level: 'error'}),
  ]
  for (const version of ['9.4.0', '8.17.0']) {
    const format = createFormat('ecs', {options: {version}})
    const bulk = createFormat('ecs-bulk', {options: {version, index: 'logs-audit'}})
    for (const e of entries) {
      const expected = safeJson(ecsDocument(e, {version}))
      assert.equal(format.encode(e, 0), `${expected}\n`)
      assert.equal(bulk.encode(e, 0), `${bulkAction(e, 'logs-audit')}\n${expected}\n`)
    }
  }
})

test('ecs-bulk: create action with _id = chain hash, then the document; final newline; pairs round-trip', () => {
  const entries = [
    located(),
    located({event: 'session.start', actor: 'a\nb', chain_hash: 'b'.repeat(64)}),
    located({chain_hash: undefined}),
  ]
  const body = render('ecs-bulk', entries, {index: 'logs-audit-default'})
  assert.ok(body.endsWith('}\n'))
  const lines = body.slice(0, -1).split('\n')
  assert.equal(lines.length, 6)
  for (let i = 0; i < entries.length; i++) {
    const action = JSON.parse(lines[2 * i])
    const doc = JSON.parse(lines[2 * i + 1])
    const id = entries[i].entry.chain_hash
    assert.deepEqual(action, {create: {_index: 'logs-audit-default', ...(id ? {_id: id} : {})}})
    assert.equal(doc.user.name, entries[i].entry.actor)
    assert.equal(doc['@timestamp'], entries[i].entry.timestamp)
  }
  assert.deepEqual(JSON.parse(render('ecs-bulk', [located()]).split('\n')[0]), {create: {_id: HASH}})
  assert.throws(() => codecOptions(getCodec('ecs-bulk'), {index: 'Logs*'}), /format ecs-bulk, options: index/)
})

test('ecs-bulk: hostile content never adds a line to a pair', () => {
  const body = render('ecs-bulk', [located({actor: 'x\n{"delete":{}}\r\n', details: {'\n': '\u2028\n'}})])
  assert.equal(body.split('\n').length, 3)
})

test('ocsf: auth.fail is Authentication 3002, Logon, type_uid 300201, failure; the required attributes are there', () => {
  const event = JSON.parse(render('ocsf', [located()]))
  assert.deepEqual(
    {
      class_uid: event.class_uid,
      category_uid: event.category_uid,
      activity_id: event.activity_id,
      type_uid: event.type_uid,
      severity_id: event.severity_id,
      status_id: event.status_id,
      time: event.time,
    },
    {class_uid: 3002, category_uid: 3, activity_id: 1, type_uid: 300201, severity_id: 3, status_id: 2, time: 1795045882349},
  )
  assert.equal(event.type_name, 'Authentication: Logon')
  assert.deepEqual(event.metadata.product, {name: 'auditkit', vendor_name: 'auditkit'})
  assert.equal(event.metadata.version, '1.8.0')
  assert.equal(event.metadata.uid, HASH)
  assert.deepEqual(event.user, {name: 'mallory'})
  assert.ok(event.service || event.dst_endpoint)
})

test('ocsf: a class per family; type_uid is class_uid * 100 + activity_id for each', () => {
  const cases: Array<[Partial<AuditEntry>, number, number, number]> = [
    [{event: 'api.request', details: {method: 'GET', path: '/api/tags'}}, 6003, 6, 2],
    [{event: 'api.request', details: {method: 'DELETE'}}, 6003, 6, 4],
    [{event: 'auth.logout'}, 3002, 3, 2],
    [{event: 'user.password_change'}, 3001, 3, 3],
    [{event: 'config.change', details: {key: 'retention_days'}}, 3004, 3, 3],
    [{event: 'file.write'}, 0, 0, 99],
  ]
  for (const [partial, cls, category, activity] of cases) {
    const event = JSON.parse(render('ocsf', [located(partial)], {schemaVersion: '1.9.0'}))
    assert.deepEqual(
      [event.class_uid, event.category_uid, event.activity_id, event.type_uid],
      [cls, category, activity, cls * 100 + activity],
      partial.event,
    )
    assert.equal(event.metadata.version, '1.9.0')
    if (cls === 6003) assert.ok(event.actor.user.name && event.api.operation && event.src_endpoint)
    if (cls === 3004) assert.equal(event.entity.name, 'retention_days')
  }
})

test("splunk-hec: time in seconds with a ms fraction (the docs' 1433188255.500), index, sourcetype; batches concatenate", () => {
  assert.equal(hecTime(1433188255500), '1433188255.500')
  assert.equal(hecTime(1433188255005), '1433188255.005')
  const text = render('splunk-hec', [located()], {index: 'main', sourcetype: '_json'})
  assert.equal(
    text,
    `{"time":1795045882.349,"host":"worker-1","source":"auditkit","sourcetype":"_json","index":"main","event":${JSON.stringify(located().entry)}}\n`,
  )
  const parsed = JSON.parse(text)
  assert.deepEqual(parsed.event, located().entry)
})

test("loki: the push body shape with string ns timestamps (the spec's 1570818238000000000), labels without actor or hash", () => {
  assert.equal(lokiTime(1570818238000), '1570818238000000000')
  assert.equal(lokiTime(1795045882349), '1795045882349000000')
  const body = JSON.parse(render('loki', [located()]))
  assert.deepEqual(body, {
    streams: [
      {
        stream: {job: 'auditkit', event: 'auth.fail', level: 'warning', host: 'worker-1'},
        values: [['1795045882349000000', JSON.stringify(located().entry)]],
      },
    ],
  })
  assert.throws(() => codecOptions(getCodec('loki'), {job: 'a"b'}), /format loki, options: job/)
})

test("csv-fixed: the issue's fixed columns; RFC 4180 round trip through csv-parse; formulas neutralised", () => {
  const actor = '=HYPERLINK("x"), "quoted"\r\nnext'
  const text = render('csv-fixed', [located(), located({actor, metadata: {}})])
  const rows = parseCsv(text, {relaxQuotes: false}) as string[][]
  assert.deepEqual(rows[0], ['timestamp', 'event', 'level', 'actor', 'details', 'host', 'chain_hash'])
  assert.deepEqual(rows[1], [
    '2026-11-18T23:51:22.349Z',
    'auth.fail',
    'warning',
    'mallory',
    '{"ip":"10.0.7.22","reason":"bad password"}',
    'worker-1',
    HASH,
  ])
  assert.equal(rows[2][3], `'${actor}`)
  assert.equal(rows[2][5], '')
})

test('outcome: from the action, then details.success/status, then the level', () => {
  assert.equal(outcomeOf(located({event: 'auth.fail'}).entry), 'failure')
  assert.equal(outcomeOf(located({event: 'api.request', details: {status: 500}, level: 'info'}).entry), 'failure')
  assert.equal(outcomeOf(located({event: 'api.request', details: {status: 200}, level: 'info'}).entry), 'success')
  assert.equal(outcomeOf(located({event: 'model.pull', details: {}, level: 'info'}).entry), 'unknown')
  assert.equal(outcomeOf(located({event: 'model.pull', details: {}, level: 'error'}).entry), 'failure')
  // The per-event form a codec caches answers as outcomeOf does, whatever the details and level.
  for (const event of ['auth.fail', 'auth.login', 'api.request', 'model.pull', 'x.access_denied', 'noaction'])
    for (const details of [{}, {success: true}, {success: false}, {status: 200}, {status: 503}, {status: '500'}])
      for (const level of ['debug', 'info', 'warning', 'error'] as const) {
        const {entry} = located({event, details, level})
        assert.equal(outcomeFor(event)(entry), outcomeOf(entry), `${event} ${JSON.stringify(details)} ${level}`)
      }
})

test('sourceIpOf takes what net.isIP takes, read without its regular expression for dotted quads', () => {
  const values = ['1.2.3.4', '0.0.0.0', '255.255.255.255', '256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.04', '1..3.4', '.1.2.3']
  values.push('1.2.3.4.', '1.2.3.-4', '1.2.3.4 ', '1234.1.1.1', '', '::1', '::ffff:1.2.3.4', '2001:db8::1', 'fe80::1%eth0', '１.2.3.4')
  for (const ip of values) assert.equal(sourceIpOf(located({details: {ip}}).entry), isIP(ip) === 0 ? undefined : ip, JSON.stringify(ip))
})

import assert from 'node:assert/strict'
import {test} from 'node:test'

import {compileFilter, FilterError, type FilterSpec, getPath, globToRegExp} from '../../src/events/filter.js'
import type {AuditEntry, LocatedEntry} from '../../src/events/model.js'
import {decodeBatch} from '../../src/store/reader.js'
import {Diagnostics} from '../../src/store/diagnostics.js'

function located(partial: Partial<AuditEntry>, raw?: string): LocatedEntry {
  const entry: AuditEntry = {
    timestamp: '2026-11-02T10:00:00.000Z',
    event: 'auth.login',
    level: 'info',
    actor: 'alice',
    details: {},
    metadata: {},
    ...partial,
  }
  return {
    entry,
    time: Date.parse(entry.timestamp),
    file: '/x/audit-2026-11-02.jsonl',
    line: 1,
    raw: raw ?? JSON.stringify(entry),
    profile: 'native',
  }
}

/** What the filter keeps of the given entries, going through the reader's raw-line shortcuts as well. */
function kept(spec: FilterSpec, entries: Array<Partial<AuditEntry>>): number[] {
  const filter = compileFilter(spec)
  const lines = entries.map((e, i) => ({text: located(e).raw, line: i + 1}))
  const diagnostics = new Diagnostics()
  const out = decodeBatch('/x/audit-2026-11-02.jsonl', lines, {filter}, diagnostics)
  assert.equal(diagnostics.total, 0)
  // the shortcuts must agree with the full test
  assert.deepEqual(
    out.map((l) => l.line),
    entries.map((e, i) => (filter.matches(located(e)) && (!filter.rawTest || filter.rawTest(located(e).raw)) ? i + 1 : 0)).filter(Boolean),
  )
  return out.map((l) => l.line)
}

test('globToRegExp: * and ? are wildcards, everything else literal', () => {
  assert.ok(globToRegExp('auth.*').test('auth.login'))
  assert.ok(!globToRegExp('auth.*').test('authXlogin'))
  assert.ok(!globToRegExp('auth.*').test('oauth.login'))
  assert.ok(globToRegExp('auth.log?n').test('auth.login'))
  assert.ok(globToRegExp('a+b.(x)').test('a+b.(x)'))
})

test('--event: globs, repeatable (any of them)', () => {
  const entries = [{event: 'auth.login'}, {event: 'auth.fail'}, {event: 'api.request'}, {event: 'session.start'}]
  assert.deepEqual(kept({events: ['auth.*']}, entries), [1, 2])
  assert.deepEqual(kept({events: ['auth.fail', 'api.*']}, entries), [2, 3])
  assert.deepEqual(kept({events: ['*.start']}, entries), [4])
  assert.deepEqual(kept({events: ['*']}, entries), [1, 2, 3, 4])
  assert.deepEqual(kept({events: ['auth']}, entries), [])
})

test('--level is a minimum, including entries written with warn/err', () => {
  const entries = [{level: 'debug' as const}, {level: 'info' as const}, {level: 'warning' as const}, {level: 'error' as const}]
  assert.deepEqual(kept({level: 'warning'}, entries), [3, 4])
  assert.deepEqual(kept({level: 'debug'}, entries), [1, 2, 3, 4])
  assert.deepEqual(kept({level: 'error'}, entries), [4])
})

test('--actor: exact, repeatable', () => {
  const entries = [{actor: 'alice'}, {actor: 'bob'}, {actor: 'alice2'}, {actor: 'Alice'}]
  assert.deepEqual(kept({actors: ['alice']}, entries), [1])
  assert.deepEqual(kept({actors: ['alice', 'bob']}, entries), [1, 2])
})

test('--where PATH=VALUE, !=, ~REGEX, !~ on any field; all must hold', () => {
  const entries = [
    {details: {ip: '10.0.0.5', status: 200, ok: true}},
    {details: {ip: '10.0.0.50', status: 500, ok: false}},
    {details: {path: '/api/chat'}, metadata: {hostname: 'web-1'}},
    {actor: 'bob', details: {ip: '10.0.0.5', nested: {deep: 'x'}}},
  ]
  assert.deepEqual(kept({where: ['details.ip=10.0.0.5']}, entries), [1, 4])
  assert.deepEqual(kept({where: ['details.status=500']}, entries), [2])
  assert.deepEqual(kept({where: ['details.ok=true']}, entries), [1])
  assert.deepEqual(kept({where: ['details.ip!=10.0.0.5']}, entries), [2, 3])
  assert.deepEqual(kept({where: ['details.ip~^10\\.0\\.0\\.5']}, entries), [1, 2, 4])
  assert.deepEqual(kept({where: ['details.ip!~0$']}, entries), [1, 3, 4])
  assert.deepEqual(kept({where: ['details.path~^/api/(chat|generate)']}, entries), [3])
  assert.deepEqual(kept({where: ['metadata.hostname=web-1']}, entries), [3])
  assert.deepEqual(kept({where: ['details.nested.deep=x']}, entries), [4])
  assert.deepEqual(kept({where: ['actor=bob', 'details.ip=10.0.0.5']}, entries), [4])
  assert.deepEqual(kept({where: ['details.missing=']}, entries), [])
  assert.equal(getPath({a: {b: 1}}, 'a.b'), 1)
  assert.equal(getPath({a: 'str'}, 'a.length'), undefined)
})

test('--where on a value written escaped in the line still matches (raw shortcut must not drop it)', () => {
  // "é" written as \u00e9 by an ensure_ascii writer
  const raw =
    '{"timestamp":"2026-11-02T10:00:00.000Z","event":"auth.login","level":"info","actor":"alice","details":{"name":"caf\\u00e9"},"metadata":{}}'
  const filter = compileFilter({where: ['details.name=café']})
  const out = decodeBatch('/x/f', [{text: raw, line: 1}], {filter}, new Diagnostics())
  assert.equal(out.length, 1)
})

test('--where on a number finds it however the line spells it', () => {
  const raw =
    '{"timestamp":"2026-11-02T10:00:00.000Z","event":"auth.login","level":"info","actor":"alice","details":{"n":1e3},"metadata":{}}'
  for (const where of ['details.n=1000', 'details.n~^1000$']) {
    const filter = compileFilter({where: [where]})
    assert.equal(decodeBatch('/x/f', [{text: raw, line: 1}], {filter}, new Diagnostics()).length, 1, where)
  }
})

test('--where level=warning also finds lines written with "warn" (levels are normalised)', () => {
  const raw = '{"timestamp":"2026-11-02T10:00:00.000Z","event":"auth.login","level":"warn","actor":"alice","details":{},"metadata":{}}'
  const filter = compileFilter({where: ['level=warning']})
  assert.equal(decodeBatch('/x/f', [{text: raw, line: 1}], {filter}, new Diagnostics()).length, 1)
})

test('--grep tests the raw line', () => {
  const entries = [{details: {msg: 'disk full'}}, {details: {msg: 'ok'}}]
  assert.deepEqual(kept({grep: 'disk\\s+full'}, entries), [1])
  assert.deepEqual(kept({grep: '"actor":"alice"'}, entries), [1, 2])
})

test('time bounds: since inclusive, until exclusive', () => {
  const entries = [
    {timestamp: '2026-11-02T09:59:59.999Z'},
    {timestamp: '2026-11-02T10:00:00.000Z'},
    {timestamp: '2026-11-02T10:59:59.999Z'},
    {timestamp: '2026-11-02T11:00:00.000Z'},
  ]
  assert.deepEqual(kept({since: Date.parse('2026-11-02T10:00:00Z'), until: Date.parse('2026-11-02T11:00:00Z')}, entries), [2, 3])
})

test('bad filters are FilterErrors naming the flag', () => {
  assert.throws(
    () => compileFilter({grep: '('}),
    (e: Error) => e instanceof FilterError && /--grep/.test(e.message),
  )
  assert.throws(
    () => compileFilter({where: ['details.x~[']}),
    (e: Error) => e instanceof FilterError && /--where/.test(e.message),
  )
  assert.throws(
    () => compileFilter({where: ['no-operator']}),
    (e: Error) => e instanceof FilterError && /PATH=VALUE/.test(e.message),
  )
  assert.throws(
    () => compileFilter({since: 2, until: 1}),
    (e: Error) => e instanceof FilterError && /--since/.test(e.message),
  )
})

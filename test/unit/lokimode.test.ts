import assert from 'node:assert/strict'
import {test} from 'node:test'

import {isLokiShaped, mapLokiEntry} from '../../src/events/lokimode.js'
import type {AuditEntry, LocatedEntry} from '../../src/events/model.js'
import {decodeLine} from '../../src/store/decode.js'
import {Diagnostics} from '../../src/store/diagnostics.js'
import {readEntries} from '../../src/store/reader.js'
import {chainedLines, tempDir, writeLog} from '../helpers.js'

// §11 of ../shared/specs/lokimode-format.md, verbatim
const V1 =
  '{"timestamp": "2026-03-01T08:02:26.797926+00:00", "action": "cancel", "resource_type": "run", "resource_id": "run-25", "user_id": "alice", "token_id": "tok_4439", "ip_address": null, "user_agent": "curl/8.5.0", "success": true, "error": null, "details": {"source": "dashboard", "provider": "claude", "spec": "./prd.md", "model": "opus"}, "_integrity_hash": "90475672a8b7670b7beccbcbb331a89e4b8a55524bf4a6b888ca946274eb9dfc"}'
const V2 =
  '{"timestamp": "2026-03-01T08:03:10.512328+00:00", "action": "create", "resource_type": "tenant", "resource_id": null, "user_id": "alice", "token_id": "tok_4548", "ip_address": "127.0.0.1", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "success": true, "error": null, "details": {"a": {"z": 1, "b": [1, {"y": 2, "x": 3}]}, "B": true, "_x": null, "Z": false}, "_integrity_hash": "f4819280b22a32bde67faf146f17fd90581c19072f94f8e14810a93194ee5db2"}'
const V3 =
  '{"timestamp": "2026-03-01T08:04:58.754409+00:00", "action": "stop", "resource_type": "session", "resource_id": "session-30", "user_id": null, "token_id": null, "ip_address": "127.0.0.1", "user_agent": null, "success": true, "error": null, "details": {"cost": 4.25, "ratio": 1.0, "tiny": 1e-05, "big": 12345678901234567890, "neg": -0.0}, "_integrity_hash": "f612c625739396d8f5855baa62d9c91d47a2524e76c4adc13c328bdcd5174ff1"}'
const V4 =
  '{"timestamp": "2026-03-01T08:37:13.025859+00:00", "action": "delete", "resource_type": "token", "resource_id": null, "user_id": "alice", "token_id": "tok_1655", "ip_address": "10.0.0.4", "user_agent": null, "success": true, "error": null, "details": {"emoji": "\\ud83d\\ude80 launch", "note": "astral plane"}, "_integrity_hash": "f41788a54083b34a58c324e29f040080c1ac0b092b619c5504d632c7cfa52a40"}'
const V8 =
  '{"timestamp": "2026-03-01T08:12:37+00:00", "action": "retry", "resource_type": "fleet_run", "resource_id": "fleet_run-40", "user_id": "alice", "token_id": "tok_7448", "ip_address": "10.0.0.4", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "success": true, "error": null, "details": {"name": "caf\\u00e9 \\u2615 na\\u00efve"}, "_integrity_hash": "0616a76fc303c481d1972b92c83d3adef8eead1d62fc90e0e168adc74c93f4b3"}'
const V5 =
  '{"timestamp": "2026-03-02T07:32:21.656115+00:00", "action": "update", "resource_type": "api_key", "resource_id": "api_key-39", "user_id": "bob", "token_id": "tok_1215", "ip_address": "192.168.1.20", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "success": true, "error": null, "details": {"msg": "quote \\" backslash \\\\ slash / newline \\n tab \\t ctl \\u0001 html </script>"}, "_integrity_hash": "f76ab303a2f8b93091aef0747fb29ee8bd3dabb4d120fc61a43d2b303b256f54"}'

const map = (line: string) => {
  const mapped = mapLokiEntry(JSON.parse(line))
  assert.equal(typeof mapped, 'object', String(mapped))
  return mapped as AuditEntry
}

test('V1: timestamp kept verbatim, event resource_type.action, actor user_id, details plus non-null fields, chain_hash', () => {
  assert.deepEqual(map(V1), {
    timestamp: '2026-03-01T08:02:26.797926+00:00',
    event: 'run.cancel',
    level: 'info',
    actor: 'alice',
    details: {source: 'dashboard', provider: 'claude', spec: './prd.md', model: 'opus', resource_id: 'run-25', user_agent: 'curl/8.5.0'},
    metadata: {source: 'loki-mode'},
    chain_hash: '90475672a8b7670b7beccbcbb331a89e4b8a55524bf4a6b888ca946274eb9dfc',
  })
})

test('level: error when success is false, warning for the §6 security actions, else info', () => {
  const base = JSON.parse(V1)
  for (const action of ['delete', 'kill', 'stop', 'login', 'logout', 'create_token', 'revoke_token']) {
    assert.equal((mapLokiEntry({...base, action}) as AuditEntry).level, 'warning', action)
  }
  for (const action of ['cancel', 'create', 'update', 'retry', 'read'])
    assert.equal((mapLokiEntry({...base, action}) as AuditEntry).level, 'info', action)
  assert.equal((mapLokiEntry({...base, action: 'delete', success: false, error: 'denied'}) as AuditEntry).level, 'error')
  assert.equal((mapLokiEntry({...base, action: 'create', success: false}) as AuditEntry).level, 'error')
  assert.equal((mapLokiEntry({...base, action: 'login', resource_type: 'session'}) as AuditEntry).event, 'session.login')
  assert.equal((mapLokiEntry({...base, action: 'revoke', resource_type: 'token'}) as AuditEntry).event, 'token.revoke')
})

test('actor: user_id, else token_id, else anonymous', () => {
  const base = JSON.parse(V1)
  assert.equal((mapLokiEntry({...base, user_id: null}) as AuditEntry).actor, 'tok_4439')
  assert.equal((mapLokiEntry({...base, user_id: null, token_id: null}) as AuditEntry).actor, 'anonymous')
  assert.equal(map(V3).actor, 'anonymous')
  assert.equal(map(V3).level, 'warning')
})

test('details gain resource_id, ip_address, user_agent and error only when not null', () => {
  assert.deepEqual(map(V3).details, {
    cost: 4.25,
    ratio: 1,
    tiny: 1e-5,
    // biome-ignore lint/correctness/noPrecisionLoss: the float Python writes for this integer is the point
    big: 12345678901234567890,
    neg: -0,
    resource_id: 'session-30',
    ip_address: '127.0.0.1',
  })
  assert.deepEqual(map(V2).details, {
    a: {z: 1, b: [1, {y: 2, x: 3}]},
    B: true,
    _x: null,
    Z: false,
    ip_address: '127.0.0.1',
    user_agent: 'Mozilla/5.0 (X11; Linux x86_64)',
  })
  const failed = mapLokiEntry({...JSON.parse(V1), success: false, error: 'quota exceeded'}) as AuditEntry
  assert.equal(failed.details.error, 'quota exceeded')
  assert.equal(map(V4).details.emoji, '\u{1F680} launch')
  assert.equal(map(V8).details.name, 'café ☕ naïve')
  assert.equal(map(V8).timestamp, '2026-03-01T08:12:37+00:00')
  assert.equal(map(V5).details.msg, 'quote " backslash \\ slash / newline \n tab \t ctl \u0001 html </script>')
})

test('mapped event names keep the native grammar', () => {
  const base = JSON.parse(V1)
  assert.equal((mapLokiEntry({...base, resource_type: 'API Key', action: 'Create.Now'}) as AuditEntry).event, 'api_key.create_now')
  assert.equal((mapLokiEntry({...base, resource_type: '', action: 'x'}) as AuditEntry).event, '_.x')
})

test('missing or mistyped loki fields are schema failures', () => {
  const base = JSON.parse(V1)
  assert.equal(typeof mapLokiEntry({...base, timestamp: 5}), 'string')
  assert.equal(typeof mapLokiEntry({...base, details: null}), 'string')
  assert.equal(typeof mapLokiEntry({...base, details: [1]}), 'string')
  for (const ts of [
    'yesterday',
    '2026-03-01',
    'March 1, 2026 08:00',
    '2026-03-32T08:00:00+00:00',
    '2026-02-30T08:00:00+00:00',
    '2026-03-01T24:00:00+00:00',
  ]) {
    const d = decodeLine(JSON.stringify({...base, timestamp: ts}))
    assert.equal(d.ok, false, ts)
  }
})

test('detection is by content, and --profile forces a reading', () => {
  assert.equal(isLokiShaped(JSON.parse(V1)), true)
  const native = chainedLines([{timestamp: '2026-03-01T08:00:00.000Z', event: 'auth.login'}]).lines[0]
  assert.equal(isLokiShaped(JSON.parse(native)), false)
  const loki = decodeLine(V1)
  assert.ok(loki.ok && loki.profile === 'loki' && loki.time === Date.parse('2026-03-01T08:02:26.797Z'))
  const nat = decodeLine(native)
  assert.ok(nat.ok && nat.profile === 'native')
  // forced native, a loki line fails the native schema; forced loki, a native line fails the loki one
  assert.equal(decodeLine(V1, 'native').ok, false)
  assert.equal(decodeLine(native, 'loki').ok, false)
})

test('the §11 raw lines are read through readEntries from a loki-mode directory, in order', async () => {
  const dir = tempDir()
  writeLog(dir, 'audit-2026-03-01.jsonl', [V1, V2, V3, V8, V4])
  writeLog(dir, 'audit-2026-03-02.jsonl', [V5])
  const diagnostics = new Diagnostics()
  const out: LocatedEntry[] = []
  for await (const e of readEntries(dir, {diagnostics})) out.push(e)
  assert.equal(diagnostics.total, 0, diagnostics.lines().join('\n'))
  assert.deepEqual(
    out.map((e) => e.entry.event),
    ['run.cancel', 'tenant.create', 'session.stop', 'fleet_run.retry', 'token.delete', 'api_key.update'],
  )
  assert.ok(out.every((e) => e.profile === 'loki'))
  assert.deepEqual(
    out.map((e) => e.line),
    [1, 2, 3, 4, 5, 1],
  )
  assert.equal(out[0].raw, V1)
  assert.equal(out[3].time, Date.parse('2026-03-01T08:12:37Z'))
})

test('a loki-mode size-rotated HHMMSS part is read before the day file', async () => {
  const dir = tempDir()
  writeLog(dir, 'audit-2026-03-01.jsonl', [V2])
  writeLog(dir, 'audit-2026-03-01.080230.jsonl', [V1])
  const out: string[] = []
  for await (const e of readEntries(dir)) out.push(e.entry.event)
  assert.deepEqual(out, ['run.cancel', 'tenant.create'])
})

test('NaN/Infinity tokens written by Python are malformed lines, reported, not fatal', async () => {
  const dir = tempDir()
  writeLog(dir, 'audit-2026-03-01.jsonl', [V1, V1.replace('"cost": 4.25', '"cost": NaN').replace('"source": "dashboard"', '"x": NaN'), V2])
  const diagnostics = new Diagnostics()
  const out: LocatedEntry[] = []
  for await (const e of readEntries(dir, {diagnostics})) out.push(e)
  assert.equal(out.length, 2)
  assert.deepEqual(diagnostics.counts(), {malformed: 1})
})

/** The spec's test vectors (lokimode-format.md §11), verbatim, through verify's own scanner and directory check. */
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {describe, it} from 'node:test'

import {verifyDirectory} from '../../src/integrity/verify/index.js'
import {HEADROOM, scanBlock} from '../../src/integrity/verify/scan.js'
import {tempDir, writeLog} from '../helpers.js'

const VECTORS: {name: string; raw: string; prev: string; canon: string; hash: string}[] = [
  {
    name: 'V1',
    raw: '{"timestamp": "2026-03-01T08:02:26.797926+00:00", "action": "cancel", "resource_type": "run", "resource_id": "run-25", "user_id": "alice", "token_id": "tok_4439", "ip_address": null, "user_agent": "curl/8.5.0", "success": true, "error": null, "details": {"source": "dashboard", "provider": "claude", "spec": "./prd.md", "model": "opus"}, "_integrity_hash": "90475672a8b7670b7beccbcbb331a89e4b8a55524bf4a6b888ca946274eb9dfc"}',
    prev: '0000000000000000000000000000000000000000000000000000000000000000',
    canon:
      '{"action": "cancel", "details": {"model": "opus", "provider": "claude", "source": "dashboard", "spec": "./prd.md"}, "error": null, "ip_address": null, "resource_id": "run-25", "resource_type": "run", "success": true, "timestamp": "2026-03-01T08:02:26.797926+00:00", "token_id": "tok_4439", "user_agent": "curl/8.5.0", "user_id": "alice"}',
    hash: '90475672a8b7670b7beccbcbb331a89e4b8a55524bf4a6b888ca946274eb9dfc',
  },
  {
    name: 'V2',
    raw: '{"timestamp": "2026-03-01T08:03:10.512328+00:00", "action": "create", "resource_type": "tenant", "resource_id": null, "user_id": "alice", "token_id": "tok_4548", "ip_address": "127.0.0.1", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "success": true, "error": null, "details": {"a": {"z": 1, "b": [1, {"y": 2, "x": 3}]}, "B": true, "_x": null, "Z": false}, "_integrity_hash": "f4819280b22a32bde67faf146f17fd90581c19072f94f8e14810a93194ee5db2"}',
    prev: 'cbd6e787ff286841a815f8bf8ac6790d8941de0bc85ab48776b2bb0016e99659',
    canon:
      '{"action": "create", "details": {"B": true, "Z": false, "_x": null, "a": {"b": [1, {"x": 3, "y": 2}], "z": 1}}, "error": null, "ip_address": "127.0.0.1", "resource_id": null, "resource_type": "tenant", "success": true, "timestamp": "2026-03-01T08:03:10.512328+00:00", "token_id": "tok_4548", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "user_id": "alice"}',
    hash: 'f4819280b22a32bde67faf146f17fd90581c19072f94f8e14810a93194ee5db2',
  },
  {
    name: 'V3',
    raw: '{"timestamp": "2026-03-01T08:04:58.754409+00:00", "action": "stop", "resource_type": "session", "resource_id": "session-30", "user_id": null, "token_id": null, "ip_address": "127.0.0.1", "user_agent": null, "success": true, "error": null, "details": {"cost": 4.25, "ratio": 1.0, "tiny": 1e-05, "big": 12345678901234567890, "neg": -0.0}, "_integrity_hash": "f612c625739396d8f5855baa62d9c91d47a2524e76c4adc13c328bdcd5174ff1"}',
    prev: 'f4819280b22a32bde67faf146f17fd90581c19072f94f8e14810a93194ee5db2',
    canon:
      '{"action": "stop", "details": {"big": 12345678901234567890, "cost": 4.25, "neg": -0.0, "ratio": 1.0, "tiny": 1e-05}, "error": null, "ip_address": "127.0.0.1", "resource_id": "session-30", "resource_type": "session", "success": true, "timestamp": "2026-03-01T08:04:58.754409+00:00", "token_id": null, "user_agent": null, "user_id": null}',
    hash: 'f612c625739396d8f5855baa62d9c91d47a2524e76c4adc13c328bdcd5174ff1',
  },
  {
    name: 'V4',
    raw: '{"timestamp": "2026-03-01T08:37:13.025859+00:00", "action": "delete", "resource_type": "token", "resource_id": null, "user_id": "alice", "token_id": "tok_1655", "ip_address": "10.0.0.4", "user_agent": null, "success": true, "error": null, "details": {"emoji": "\\ud83d\\ude80 launch", "note": "astral plane"}, "_integrity_hash": "f41788a54083b34a58c324e29f040080c1ac0b092b619c5504d632c7cfa52a40"}',
    prev: '17b367e9dd853146aec94bdbc8d582e6d37304c73a5b2753b3c6614592c55683',
    canon:
      '{"action": "delete", "details": {"emoji": "\\ud83d\\ude80 launch", "note": "astral plane"}, "error": null, "ip_address": "10.0.0.4", "resource_id": null, "resource_type": "token", "success": true, "timestamp": "2026-03-01T08:37:13.025859+00:00", "token_id": "tok_1655", "user_agent": null, "user_id": "alice"}',
    hash: 'f41788a54083b34a58c324e29f040080c1ac0b092b619c5504d632c7cfa52a40',
  },
  {
    name: 'V5',
    raw: '{"timestamp": "2026-03-02T07:32:21.656115+00:00", "action": "update", "resource_type": "api_key", "resource_id": "api_key-39", "user_id": "bob", "token_id": "tok_1215", "ip_address": "192.168.1.20", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "success": true, "error": null, "details": {"msg": "quote \\" backslash \\\\ slash / newline \\n tab \\t ctl \\u0001 html </script>"}, "_integrity_hash": "f76ab303a2f8b93091aef0747fb29ee8bd3dabb4d120fc61a43d2b303b256f54"}',
    prev: '0e3427b928be8adea5193fb6b59573e0ee3f201c6456a5dc2269525bba5036df',
    canon:
      '{"action": "update", "details": {"msg": "quote \\" backslash \\\\ slash / newline \\n tab \\t ctl \\u0001 html </script>"}, "error": null, "ip_address": "192.168.1.20", "resource_id": "api_key-39", "resource_type": "api_key", "success": true, "timestamp": "2026-03-02T07:32:21.656115+00:00", "token_id": "tok_1215", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "user_id": "bob"}',
    hash: 'f76ab303a2f8b93091aef0747fb29ee8bd3dabb4d120fc61a43d2b303b256f54',
  },
]

function block(text: string): Buffer {
  const buf = Buffer.alloc(HEADROOM + Buffer.byteLength(text) + 1)
  buf.write(`${text}\n`, HEADROOM)
  return buf
}

describe('loki-mode vectors V1-V5', () => {
  for (const v of VECTORS) {
    it(`${v.name}: canonical form and hash`, () => {
      const result = scanBlock({buf: block(v.raw), start: HEADROOM, end: HEADROOM + Buffer.byteLength(v.raw) + 1, profile: 'loki'})
      const run = result.items[0]
      assert.equal(run?.k, 'run')
      if (run?.k !== 'run') return
      assert.equal(run.firstBody, v.canon)
      assert.equal(run.firstHash, v.hash)
      assert.equal(
        createHash('sha256')
          .update(v.prev + run.firstBody)
          .digest('hex'),
        v.hash,
      )
    })
  }

  it('V1 verifies as a log from genesis; semantic reformatting passes, a duplicate key does not', async () => {
    const v1 = VECTORS[0].raw
    const dir = tempDir('vectors-')
    writeLog(dir, 'audit-2026-03-01.jsonl', [v1])
    let report = await verifyDirectory(dir)
    assert.equal(report.valid, true, JSON.stringify(report.problems))
    assert.equal(report.files[0].profile, 'loki')
    assert.equal(report.head?.hash, VECTORS[0].hash)
    // loki-mode hashes the parsed value: whitespace and key order are not part of it (spec §2.3).
    writeLog(dir, 'audit-2026-03-01.jsonl', [
      v1.replace('"action": "cancel", ', '').replace('{"timestamp"', '{"action":"cancel",  "timestamp"'),
    ])
    report = await verifyDirectory(dir)
    assert.equal(report.valid, true, JSON.stringify(report.problems))
    writeLog(dir, 'audit-2026-03-01.jsonl', [v1.replace('"user_id": "alice"', '"user_id": "mallory", "user_id": "alice"')])
    report = await verifyDirectory(dir)
    assert.equal(report.valid, false)
    assert.equal(report.problems[0].kind, 'duplicate-key')
    assert.match(report.problems[0].message, /user_id/)
  })

  it('--profile native forced on a loki file finds no native chain', async () => {
    const dir = tempDir('vectors-')
    writeLog(dir, 'audit-2026-03-01.jsonl', [VECTORS[0].raw])
    const report = await verifyDirectory(dir, {profile: 'native'})
    assert.equal(report.valid, false)
    assert.equal(report.unchained, 1)
  })
})

import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {describe, it} from 'node:test'

import {
  canonicalize,
  canonicalizeText,
  LOKI_GENESIS_HASH,
  LOKI_HASH_KEY,
  lokiEntryHash,
  MAX_DEPTH,
  parseLossless,
  pythonFloatRepr,
  type LValue,
} from '../../src/integrity/loki-canonical.js'
import {seededRandom} from '../helpers.js'

/** Spec lokimode-format.md §11, verbatim. */
const VECTORS = [
  {
    name: 'V1 day1 line 1 (genesis)',
    raw: '{"timestamp": "2026-03-01T08:02:26.797926+00:00", "action": "cancel", "resource_type": "run", "resource_id": "run-25", "user_id": "alice", "token_id": "tok_4439", "ip_address": null, "user_agent": "curl/8.5.0", "success": true, "error": null, "details": {"source": "dashboard", "provider": "claude", "spec": "./prd.md", "model": "opus"}, "_integrity_hash": "90475672a8b7670b7beccbcbb331a89e4b8a55524bf4a6b888ca946274eb9dfc"}',
    prev: '0000000000000000000000000000000000000000000000000000000000000000',
    canon:
      '{"action": "cancel", "details": {"model": "opus", "provider": "claude", "source": "dashboard", "spec": "./prd.md"}, "error": null, "ip_address": null, "resource_id": "run-25", "resource_type": "run", "success": true, "timestamp": "2026-03-01T08:02:26.797926+00:00", "token_id": "tok_4439", "user_agent": "curl/8.5.0", "user_id": "alice"}',
    hash: '90475672a8b7670b7beccbcbb331a89e4b8a55524bf4a6b888ca946274eb9dfc',
  },
  {
    name: 'V2 day1 line 3 (recursive key sort; `B` < `Z` < `_x` < `a`)',
    raw: '{"timestamp": "2026-03-01T08:03:10.512328+00:00", "action": "create", "resource_type": "tenant", "resource_id": null, "user_id": "alice", "token_id": "tok_4548", "ip_address": "127.0.0.1", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "success": true, "error": null, "details": {"a": {"z": 1, "b": [1, {"y": 2, "x": 3}]}, "B": true, "_x": null, "Z": false}, "_integrity_hash": "f4819280b22a32bde67faf146f17fd90581c19072f94f8e14810a93194ee5db2"}',
    prev: 'cbd6e787ff286841a815f8bf8ac6790d8941de0bc85ab48776b2bb0016e99659',
    canon:
      '{"action": "create", "details": {"B": true, "Z": false, "_x": null, "a": {"b": [1, {"x": 3, "y": 2}], "z": 1}}, "error": null, "ip_address": "127.0.0.1", "resource_id": null, "resource_type": "tenant", "success": true, "timestamp": "2026-03-01T08:03:10.512328+00:00", "token_id": "tok_4548", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "user_id": "alice"}',
    hash: 'f4819280b22a32bde67faf146f17fd90581c19072f94f8e14810a93194ee5db2',
  },
  {
    name: 'V3 day1 line 4 (Python number forms: `1.0`, `1e-05`, `-0.0`, 20-digit int)',
    raw: '{"timestamp": "2026-03-01T08:04:58.754409+00:00", "action": "stop", "resource_type": "session", "resource_id": "session-30", "user_id": null, "token_id": null, "ip_address": "127.0.0.1", "user_agent": null, "success": true, "error": null, "details": {"cost": 4.25, "ratio": 1.0, "tiny": 1e-05, "big": 12345678901234567890, "neg": -0.0}, "_integrity_hash": "f612c625739396d8f5855baa62d9c91d47a2524e76c4adc13c328bdcd5174ff1"}',
    prev: 'f4819280b22a32bde67faf146f17fd90581c19072f94f8e14810a93194ee5db2',
    canon:
      '{"action": "stop", "details": {"big": 12345678901234567890, "cost": 4.25, "neg": -0.0, "ratio": 1.0, "tiny": 1e-05}, "error": null, "ip_address": "127.0.0.1", "resource_id": "session-30", "resource_type": "session", "success": true, "timestamp": "2026-03-01T08:04:58.754409+00:00", "token_id": null, "user_agent": null, "user_id": null}',
    hash: 'f612c625739396d8f5855baa62d9c91d47a2524e76c4adc13c328bdcd5174ff1',
  },
  {
    name: 'V4 day1 line 27 (astral char as surrogate-pair escapes)',
    raw: '{"timestamp": "2026-03-01T08:37:13.025859+00:00", "action": "delete", "resource_type": "token", "resource_id": null, "user_id": "alice", "token_id": "tok_1655", "ip_address": "10.0.0.4", "user_agent": null, "success": true, "error": null, "details": {"emoji": "\\ud83d\\ude80 launch", "note": "astral plane"}, "_integrity_hash": "f41788a54083b34a58c324e29f040080c1ac0b092b619c5504d632c7cfa52a40"}',
    prev: '17b367e9dd853146aec94bdbc8d582e6d37304c73a5b2753b3c6614592c55683',
    canon:
      '{"action": "delete", "details": {"emoji": "\\ud83d\\ude80 launch", "note": "astral plane"}, "error": null, "ip_address": "10.0.0.4", "resource_id": null, "resource_type": "token", "success": true, "timestamp": "2026-03-01T08:37:13.025859+00:00", "token_id": "tok_1655", "user_agent": null, "user_id": "alice"}',
    hash: 'f41788a54083b34a58c324e29f040080c1ac0b092b619c5504d632c7cfa52a40',
  },
  {
    name: "V5 day2 line 1 (cross-file: PREV is day1's last hash; string escapes)",
    raw: '{"timestamp": "2026-03-02T07:32:21.656115+00:00", "action": "update", "resource_type": "api_key", "resource_id": "api_key-39", "user_id": "bob", "token_id": "tok_1215", "ip_address": "192.168.1.20", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "success": true, "error": null, "details": {"msg": "quote \\" backslash \\\\ slash / newline \\n tab \\t ctl \\u0001 html </script>"}, "_integrity_hash": "f76ab303a2f8b93091aef0747fb29ee8bd3dabb4d120fc61a43d2b303b256f54"}',
    prev: '0e3427b928be8adea5193fb6b59573e0ee3f201c6456a5dc2269525bba5036df',
    canon:
      '{"action": "update", "details": {"msg": "quote \\" backslash \\\\ slash / newline \\n tab \\t ctl \\u0001 html </script>"}, "error": null, "ip_address": "192.168.1.20", "resource_id": "api_key-39", "resource_type": "api_key", "success": true, "timestamp": "2026-03-02T07:32:21.656115+00:00", "token_id": "tok_1215", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "user_id": "bob"}',
    hash: 'f76ab303a2f8b93091aef0747fb29ee8bd3dabb4d120fc61a43d2b303b256f54',
  },
]

/** §11 extra raw line (day1 line 8); its PREV is not in the spec, so only the canonical form is checked. */
const EXTRA_RAW =
  '{"timestamp": "2026-03-01T08:12:37+00:00", "action": "retry", "resource_type": "fleet_run", "resource_id": "fleet_run-40", "user_id": "alice", "token_id": "tok_7448", "ip_address": "10.0.0.4", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "success": true, "error": null, "details": {"name": "caf\\u00e9 \\u2615 na\\u00efve"}, "_integrity_hash": "0616a76fc303c481d1972b92c83d3adef8eead1d62fc90e0e168adc74c93f4b3"}'
/** Python 3.11 `json.dumps(json.loads(EXTRA_RAW) - _integrity_hash, sort_keys=True)`. */
const EXTRA_CANON =
  '{"action": "retry", "details": {"name": "caf\\u00e9 \\u2615 na\\u00efve"}, "error": null, "ip_address": "10.0.0.4", "resource_id": "fleet_run-40", "resource_type": "fleet_run", "success": true, "timestamp": "2026-03-01T08:12:37+00:00", "token_id": "tok_7448", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "user_id": "alice"}'

function parseOk(text: string): LValue {
  const r = parseLossless(text)
  assert.ok(r.ok, `expected ${JSON.stringify(text)} to parse: ${r.ok ? '' : r.reason}`)
  return r.value
}

/** Canonical form of a JSON text (round trip through the lossless parser). */
function canon(text: string): string {
  return canonicalize(parseOk(text))
}

/** canonicalizeText (fused fast path when possible) checked against the tree path. */
function canonText(text: string, omit: string | undefined = LOKI_HASH_KEY): string {
  const r = canonicalizeText(text, omit)
  assert.ok(r.ok, `canonicalizeText failed for ${JSON.stringify(text)}: ${r.ok ? '' : r.reason}`)
  assert.equal(r.canonical, canonicalize(parseOk(text), omit), `fast vs tree path for ${JSON.stringify(text)}`)
  return r.canonical
}

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex')

describe('loki-mode canonical JSON: spec §11 vectors', () => {
  for (const v of VECTORS) {
    it(v.name, () => {
      const value = parseOk(v.raw)
      assert.equal(canonicalize(value, '_integrity_hash'), v.canon)
      assert.equal(canonText(v.raw), v.canon)
      const r = lokiEntryHash(v.prev, v.raw)
      assert.ok(r.ok)
      assert.equal(r.computed, v.hash)
      assert.equal(r.stored, v.hash)
      assert.equal(r.nonFinite, false)
      assert.equal(r.duplicateKey, null)
      // Independent check of the hash construction: sha256 over ASCII(PREV + CANON).
      assert.equal(
        createHash('sha256')
          .update(v.prev + v.canon)
          .digest('hex'),
        v.hash,
      )
    })
  }

  it('V1 starts from genesis and V2 -> V3 chain', () => {
    assert.equal(VECTORS[0]!.prev, LOKI_GENESIS_HASH)
    const v2 = lokiEntryHash(VECTORS[1]!.prev, VECTORS[1]!.raw)
    assert.ok(v2.ok)
    const v3 = lokiEntryHash(v2.computed, VECTORS[2]!.raw)
    assert.ok(v3.ok)
    assert.equal(v3.computed, VECTORS[2]!.hash)
  })

  it('a wrong PREV gives a different hash (stored hash still reported)', () => {
    const v = VECTORS[0]!
    const r = lokiEntryHash(VECTORS[1]!.hash, v.raw)
    assert.ok(r.ok)
    assert.notEqual(r.computed, v.hash)
    assert.equal(r.stored, v.hash)
  })

  it('extra raw line: BMP non-ASCII escapes, timestamp without fraction', () => {
    const c = canonText(EXTRA_RAW)
    assert.ok(c.includes('"name": "caf\\u00e9 \\u2615 na\\u00efve"'), c)
    assert.equal(c, EXTRA_CANON)
    const r = lokiEntryHash(LOKI_GENESIS_HASH, EXTRA_RAW)
    assert.ok(r.ok)
    assert.equal(r.computed, sha256(LOKI_GENESIS_HASH + EXTRA_CANON))
    assert.equal(r.stored, '0616a76fc303c481d1972b92c83d3adef8eead1d62fc90e0e168adc74c93f4b3')
    // Semantic integrity (§2.3): raw é/☕ instead of escapes, keys reordered, other whitespace.
    const unescaped = EXTRA_RAW.replace('caf\\u00e9 \\u2615 na\\u00efve', 'café ☕ naïve')
    assert.notEqual(unescaped, EXTRA_RAW)
    assert.equal(canonText(unescaped), EXTRA_CANON)
    const r2 = lokiEntryHash(LOKI_GENESIS_HASH, unescaped)
    assert.ok(r2.ok)
    assert.equal(r2.computed, r.computed)
  })

  it('re-ordered keys and changed whitespace still verify (semantic, not byte, integrity)', () => {
    const v = VECTORS[1]!
    const obj = JSON.parse(v.raw) as Record<string, unknown>
    const reordered = Object.fromEntries(Object.entries(obj).reverse())
    const line = '  ' + JSON.stringify(reordered, null, '\t').replace(/\n/g, '\r\n') + '\n'
    const r = lokiEntryHash(v.prev, line)
    assert.ok(r.ok)
    assert.equal(r.computed, v.hash)
  })
})

describe('loki-mode canonical JSON: numbers', () => {
  const floats: [string, string][] = [
    ['1.0', '1.0'],
    ['1e-05', '1e-05'],
    ['1e+16', '1e+16'],
    ['1e16', '1e+16'],
    ['1E16', '1e+16'],
    ['0.0001', '0.0001'],
    ['0.00001', '1e-05'],
    ['0.000123', '0.000123'],
    ['0.0000123', '1.23e-05'],
    ['123456789012345678.0', '1.2345678901234568e+17'],
    ['1234567890123456.0', '1234567890123456.0'],
    ['9999999999999998.0', '9999999999999998.0'],
    ['-0.0', '-0.0'],
    ['0.0', '0.0'],
    ['0e0', '0.0'],
    ['-0e5', '-0.0'],
    ['1.5E3', '1500.0'],
    ['4.25', '4.25'],
    ['0.1', '0.1'],
    ['-2.5e-7', '-2.5e-07'],
    ['1e100', '1e+100'],
    ['1.7976931348623157e308', '1.7976931348623157e+308'],
    ['5e-324', '5e-324'],
    ['2.2250738585072014e-308', '2.2250738585072014e-308'],
    ['0.30000000000000004', '0.30000000000000004'],
    ['1.00000000000000000001', '1.0'],
    ['100.0', '100.0'],
    ['1e400', 'Infinity'],
    ['-1e400', '-Infinity'],
  ]
  for (const [lex, want] of floats) {
    it(`float ${lex} -> ${want}`, () => {
      const value = parseOk(lex)
      assert.equal(value.t, 'float')
      assert.equal(value.t === 'float' && value.lex, lex, 'lexeme kept as written')
      assert.equal(canonicalize(value), want)
    })
  }

  it('pythonFloatRepr on doubles', () => {
    assert.equal(pythonFloatRepr(1), '1.0')
    assert.equal(pythonFloatRepr(-0), '-0.0')
    assert.equal(pythonFloatRepr(1e21), '1e+21')
    assert.equal(pythonFloatRepr(1e-7), '1e-07')
    assert.equal(pythonFloatRepr(NaN), 'NaN')
  })

  it('integers keep their digits exactly (arbitrary precision)', () => {
    for (const lex of ['0', '7', '-42', '12345678901234567890', '-98765432109876543210987654321', '9007199254740993']) {
      const value = parseOk(lex)
      assert.equal(value.t, 'int')
      assert.equal(canonicalize(value), lex)
    }
    assert.equal(canon('{"big": 12345678901234567890, "n": [1, -2, 30]}'), '{"big": 12345678901234567890, "n": [1, -2, 30]}')
    // Python int("-0") == 0
    assert.equal(canon('-0'), '0')
  })

  it('NaN / Infinity / -Infinity tokens are accepted, flagged and re-emitted', () => {
    const r = parseLossless('{"a": NaN, "b": [Infinity, -Infinity]}')
    assert.ok(r.ok)
    assert.equal(r.nonFinite, true)
    assert.equal(canonicalize(r.value), '{"a": NaN, "b": [Infinity, -Infinity]}')
    const plain = parseLossless('{"a": 1}')
    assert.ok(plain.ok)
    assert.equal(plain.nonFinite, false)
    const h = lokiEntryHash(LOKI_GENESIS_HASH, '{"x": NaN, "_integrity_hash": "ab"}')
    assert.ok(h.ok)
    assert.equal(h.nonFinite, true)
    assert.equal(h.stored, 'ab')
    assert.equal(h.computed, sha256(LOKI_GENESIS_HASH + '{"x": NaN}'))
    for (const bad of ['nan', '-NaN', 'inf', 'Infinit', '+1', '-', '01', '1.', '.5', '1e', '1e+', '0x10']) {
      assert.equal(parseLossless(bad).ok, false, bad)
    }
  })
})

describe('loki-mode canonical JSON: strings and keys', () => {
  it('escapes like Python ensure_ascii', () => {
    assert.equal(
      canon('"q\\" b\\\\ s\\/ / \\b\\f\\n\\r\\t \\u0000 \\u001f \\u007f \\u00a0 \\u00e9 \\u20ac \\uFFFD"'),
      '"q\\" b\\\\ s/ / \\b\\f\\n\\r\\t \\u0000 \\u001f \\u007f \\u00a0 \\u00e9 \\u20ac \\ufffd"',
    )
    // Raw non-ASCII (including DEL and astral) is escaped; astral as a surrogate pair.
    assert.equal(canon('"\u007f é 🚀 </script>"'), '"\\u007f \\u00e9 \\ud83d\\ude80 </script>"')
    assert.equal(canon('"\\ud83d\\ude80"'), canon('"🚀"'))
    // Lone surrogates survive (Python accepts them via escapes).
    assert.equal(canon('"\\udc00x"'), '"\\udc00x"')
  })

  it('sorts keys recursively by code point, not UTF-16 unit order', () => {
    // U+1F600 (surrogates D83D DE00) sorts after U+FFFD by code point, before it in UTF-16 order.
    const text = '{"\uFFFD": 1, "\u{1F600}": 2, "a": {"z": 0, "\u{1F600}": 1, "\uE000": 2, "A": 3}}'
    assert.equal(
      canonText(text, undefined),
      '{"a": {"A": 3, "z": 0, "\\ue000": 2, "\\ud83d\\ude00": 1}, "\\ufffd": 1, "\\ud83d\\ude00": 2}',
    )
    assert.equal(
      canonText('{"b": 1, "B": 2, "_x": 3, "Z": 4, "a": 5, "": 6, "aa": 7}', undefined),
      '{"": 6, "B": 2, "Z": 4, "_x": 3, "a": 5, "aa": 7, "b": 1}',
    )
  })

  it('sorts objects with many keys', () => {
    const keys = Array.from({length: 60}, (_, i) => `k${(i * 37) % 60}`)
    const text = '{' + keys.map((k, i) => `"${k}": ${i}`).join(', ') + '}'
    const out = canonText(text, undefined)
    const sortedKeys = [...keys].sort()
    const order = [...out.matchAll(/"(k\d+)"/g)].map((m) => m[1])
    assert.deepEqual(order, sortedKeys)
  })

  it('empty containers and literals', () => {
    assert.equal(
      canonText(' { "e": {}, "l": [], "t": true, "f": false, "n": null } ', undefined),
      '{"e": {}, "f": false, "l": [], "n": null, "t": true}',
    )
  })
})

describe('loki-mode canonical JSON: structure checks', () => {
  it('reports duplicate keys at top level (Python keeps the last value)', () => {
    const line = '{"user_id": "mallory", "action": "x", "user_id": "alice"}'
    const r = parseLossless(line)
    assert.ok(r.ok)
    assert.deepEqual(r.duplicateKey, {path: ['user_id'], pointer: '$.user_id', offset: line.lastIndexOf('"user_id"')})
    assert.equal(canonicalize(r.value), '{"action": "x", "user_id": "alice"}')
    assert.equal(r.value.t === 'obj' && r.value.entries.length, 3, 'duplicates stay visible in the tree')
    const h = lokiEntryHash(LOKI_GENESIS_HASH, line)
    assert.ok(h.ok)
    assert.deepEqual(h.duplicateKey?.path, ['user_id'])
  })

  it('reports the first duplicate key in nested objects, with its path', () => {
    const line = '{"a": 1, "details": {"list": [0, {"k": 1, "k": 2}], "x": {"y": 1, "y": 2}}}'
    const r = parseLossless(line)
    assert.ok(r.ok)
    assert.deepEqual(r.duplicateKey?.path, ['details', 'list', 1, 'k'])
    assert.equal(r.duplicateKey?.pointer, '$.details.list[1].k')
    assert.equal(canonicalize(r.value), '{"a": 1, "details": {"list": [0, {"k": 2}], "x": {"y": 2}}}')
  })

  it('detects duplicates in large objects', () => {
    const keys = Array.from({length: 40}, (_, i) => `k${i}`)
    keys.push('k7')
    const r = parseLossless('{' + keys.map((k, i) => `"${k}": ${i}`).join(',') + '}')
    assert.ok(r.ok)
    assert.deepEqual(r.duplicateKey?.path, ['k7'])
  })

  it('duplicated _integrity_hash: last one is the stored hash and is omitted', () => {
    const line = '{"_integrity_hash": "first", "a": 1, "_integrity_hash": "second"}'
    const h = lokiEntryHash(LOKI_GENESIS_HASH, line)
    assert.ok(h.ok)
    assert.equal(h.stored, 'second')
    assert.equal(h.computed, sha256(LOKI_GENESIS_HASH + '{"a": 1}'))
    assert.equal(canonText(line), '{"a": 1}')
  })

  it('missing or non-string _integrity_hash gives stored: null', () => {
    const a = lokiEntryHash(LOKI_GENESIS_HASH, '{"a": 1}')
    assert.ok(a.ok)
    assert.equal(a.stored, null)
    const b = lokiEntryHash(LOKI_GENESIS_HASH, '{"a": 1, "_integrity_hash": 5}')
    assert.ok(b.ok)
    assert.equal(b.stored, null)
    assert.equal(b.computed, sha256(LOKI_GENESIS_HASH + '{"a": 1}'))
    const c = lokiEntryHash(LOKI_GENESIS_HASH, '{"a": 1, "_integrity_hash": "\\u0041\\n"}')
    assert.ok(c.ok)
    assert.equal(c.stored, 'A\n')
  })

  it('only the top-level _integrity_hash is removed', () => {
    const line = '{"details": {"_integrity_hash": "x"}, "_integrity_hash": "y"}'
    assert.equal(canonText(line), '{"details": {"_integrity_hash": "x"}}')
    const h = lokiEntryHash(LOKI_GENESIS_HASH, line)
    assert.ok(h.ok)
    assert.equal(h.stored, 'y')
  })

  it('non-object top-level values parse but lokiEntryHash rejects them', () => {
    for (const text of ['[1]', '123', 'null', '"x"', 'true', '1.5', 'NaN']) {
      assert.equal(parseLossless(text).ok, true, text)
      const h = lokiEntryHash(LOKI_GENESIS_HASH, text)
      assert.equal(h.ok, false, text)
      assert.ok(!h.ok && /not a JSON object/.test(h.reason), text)
    }
  })

  it('malformed input gives ok:false with a reason and an offset, never throws', () => {
    const full = VECTORS[0]!.raw
    const cases: [string, RegExp, number?][] = [
      [full.slice(0, 200), /unterminated string|end of input/],
      [full.slice(0, -1), /end of input/, full.length - 1],
      [full + ' x', /trailing data/, full.length + 1],
      [full + '}', /trailing data/, full.length],
      ['{"a": 1,}', /expected string key/, 8],
      ['{"a" 1}', /expected ":"/, 5],
      ['{"a": 1 "b": 2}', /expected "," or "}"/, 8],
      ['[1 2]', /expected "," or "\]"/, 3],
      ['{a: 1}', /expected string key/, 1],
      ["{'a': 1}", /expected string key/, 1],
      ['{"a": "x\ty"}', /control character/, 8],
      ['{"a": "\\x"}', /invalid escape/, 7],
      ['{"a": "\\u12g4"}', /invalid \\u escape/, 7],
      ['{"a": "\\u12"}', /invalid \\u escape/],
      ['{"a": tru}', /invalid literal/, 6],
      ['{"a": 1.}', /digit expected/],
      ['\uFEFF{"a": 1}', /byte order mark/, 0],
      ['', /empty/, 0],
      ['   ', /empty/],
      ['{"a": 1}\u00a0', /trailing data/],
    ]
    for (const [text, reason, offset] of cases) {
      const r = parseLossless(text)
      assert.equal(r.ok, false, text)
      if (r.ok) continue
      assert.match(r.reason, reason, text)
      assert.equal(typeof r.offset, 'number')
      if (offset !== undefined) assert.equal(r.offset, offset, `offset for ${JSON.stringify(text)}`)
      const h = lokiEntryHash(LOKI_GENESIS_HASH, text)
      assert.equal(h.ok, false)
      assert.ok(!h.ok && h.reason.length > 0)
    }
    const blank = lokiEntryHash(LOKI_GENESIS_HASH, '  ')
    assert.ok(!blank.ok && blank.reason === 'blank line')
  })

  it('guards nesting depth', () => {
    const ok = '['.repeat(MAX_DEPTH) + ']'.repeat(MAX_DEPTH)
    assert.equal(parseLossless(ok).ok, true)
    assert.equal(canonicalize(parseOk(ok)), ok)
    const deep = '{"a": ' + '['.repeat(100_000) + ']'.repeat(100_000) + '}'
    const r = parseLossless(deep)
    assert.ok(!r.ok)
    assert.match(r.reason, /nesting deeper than 512/)
    assert.equal(r.offset, 6 + MAX_DEPTH - 1)
  })

  it('accepts JSON whitespace around and inside values', () => {
    assert.equal(canon('\r\n\t {\n"b" :\t[ 1 ,2 ] , "a":{ }\n}\r\n'), '{"a": {}, "b": [1, 2]}')
  })
})

/** Python `json.dumps(value)` (insertion order, ", "/": ", ensure_ascii) for the test generator. */
function pyDumps(v: unknown, itemSep = ', ', keySep = ': '): string {
  if (v === null) return 'null'
  if (typeof v === 'boolean') return String(v)
  if (typeof v === 'string') return pyQuote(v)
  if (typeof v === 'bigint') return v.toString()
  if (typeof v === 'number') return pythonFloatRepr(v)
  if (Array.isArray(v)) return '[' + v.map((x) => pyDumps(x, itemSep, keySep)).join(itemSep) + ']'
  const entries = Object.entries(v as Record<string, unknown>)
  return '{' + entries.map(([k, x]) => pyQuote(k) + keySep + pyDumps(x, itemSep, keySep)).join(itemSep) + '}'
}

function pyQuote(s: string): string {
  let out = '"'
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    const ch = s[i]!
    if (ch === '"' || ch === '\\') out += '\\' + ch
    else if (c === 0x0a) out += '\\n'
    else if (c === 0x0d) out += '\\r'
    else if (c === 0x09) out += '\\t'
    else if (c === 0x08) out += '\\b'
    else if (c === 0x0c) out += '\\f'
    else if (c < 0x20 || c > 0x7e) out += '\\u' + c.toString(16).padStart(4, '0')
    else out += ch
  }
  return out + '"'
}

describe('loki-mode canonical JSON: fused fast path agrees with the tree path', () => {
  const {random: rand, pick} = seededRandom(20260301)
  const CHARS = ['a', 'b', 'Z', '_', ' ', '/', '"', '\\', '\n', '\t', '\u0001', '\u007f', 'é', '☕', '\ue000', '\uffff', '🚀']
  const KEYS = ['a', 'b', 'B', 'Z', '_x', 'aa', '', 'k-1', 'user_id', 'resource_id', 'resource_type', 'ué', '🚀', '\uffff']
  const str = (): string => Array.from({length: Math.floor(rand() * 6)}, () => pick(CHARS)).join('')
  const num = (): number | bigint =>
    pick([
      () => BigInt(Math.floor(rand() * 2000) - 1000),
      () => Math.floor(rand() * 100) - 50,
      () => (rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20),
      () => -0,
      () => 1,
      () => BigInt('12345678901234567890'),
    ])()
  const value = (depth: number): unknown => {
    const r = rand()
    if (depth > 3 || r < 0.55) return pick([str, num, () => null, () => true, () => false])()
    if (r < 0.75) return Array.from({length: Math.floor(rand() * 4)}, () => value(depth + 1))
    const o: Record<string, unknown> = {}
    for (let i = Math.floor(rand() * 6); i > 0; i--) o[pick(KEYS)] = value(depth + 1)
    return o
  }

  it('on 3000 generated entries in several layouts', () => {
    let prev = LOKI_GENESIS_HASH
    for (let n = 0; n < 3000; n++) {
      const entry: Record<string, unknown> = {}
      for (let i = Math.floor(rand() * 8); i > 0; i--) entry[pick(KEYS)] = value(0)
      entry._integrity_hash = 'ab'.repeat(32)
      const layout = n % 4
      const text =
        layout === 0
          ? pyDumps(entry)
          : layout === 1
            ? pyDumps(entry, ',', ':')
            : layout === 2
              ? ' ' + pyDumps(entry, ' ,\t', ' :  ') + '\r\n'
              : pyDumps(entry).replace(/\\u00e9/g, 'é')
      const tree = canonicalize(parseOk(text), LOKI_HASH_KEY)
      assert.equal(canonText(text), tree)
      const h = lokiEntryHash(prev, text)
      assert.ok(h.ok)
      assert.equal(h.computed, sha256(prev + tree))
      assert.equal(h.stored, 'ab'.repeat(32))
      prev = h.computed
    }
  })

  it('non-canonical spellings are normalised on the fast path too', () => {
    const cases: [string, string][] = [
      ['{"s": "\\/\\u0041\\u00E9\\u001F"}', '{"s": "/A\\u00e9\\u001f"}'],
      ['{"s": "a\u007fb"}', '{"s": "a\\u007fb"}'],
      ['{"f": 1.50, "g": 1E3, "h": -0, "i": 0.0, "j": 10000000000000000.0}', '{"f": 1.5, "g": 1000.0, "h": 0, "i": 0.0, "j": 1e+16}'],
      ['{"l":[1,2,[3 , 4]],"e":[ ],"o":{ }}', '{"e": [], "l": [1, 2, [3, 4]], "o": {}}'],
      ['{"b": {"d": 1, "c": [{"z": 0, "y": 1}]}, "a": 0}', '{"a": 0, "b": {"c": [{"y": 1, "z": 0}], "d": 1}}'],
      ['{"": 1, " ": 2, "\\"": 3}', '{"": 1, " ": 2, "\\"": 3}'],
      ['{"aa": 1, "a": 2, "ab": 3}', '{"a": 2, "aa": 1, "ab": 3}'],
    ]
    for (const [text, want] of cases) assert.equal(canonText(text, undefined), want, text)
  })

  it('large and deeply re-written lines (scratch limits) give the same result', () => {
    const deep = '{"a": ' + '['.repeat(30) + '1e5, '.repeat(2000) + '1e5' + ']'.repeat(30) + ', "_integrity_hash": "x"}'
    const bigLine = (n: number): string =>
      '{"b": [' + Array.from({length: n}, (_, i) => String(i)).join(', ') + '], "a": "' + 'z'.repeat(100) + '"}'
    // ~0.6 MB: fast path with an oversized scratch buffer; ~2 MB: over the fast-path limit.
    for (const text of [deep, bigLine(100_000), bigLine(300_000)]) {
      const tree = canonicalize(parseOk(text), LOKI_HASH_KEY)
      assert.equal(canonText(text), tree)
      const h = lokiEntryHash(LOKI_GENESIS_HASH, text)
      assert.ok(h.ok)
      assert.equal(h.computed, sha256(LOKI_GENESIS_HASH + tree))
    }
    // And the small-line fast path still works afterwards.
    const v = VECTORS[2]!
    const h = lokiEntryHash(v.prev, v.raw)
    assert.ok(h.ok)
    assert.equal(h.computed, v.hash)
  })

  it('the hash prefix is hashed as UTF-8 even when it is not ASCII', () => {
    const v = VECTORS[0]!
    for (const prev of ['', 'é', '☕'.repeat(40), '\ud800', v.prev]) {
      const h = lokiEntryHash(prev, v.raw)
      assert.ok(h.ok)
      assert.equal(h.computed, sha256(prev + v.canon), JSON.stringify(prev))
    }
  })

  it('interleaving fast-path and slow-path lines keeps no state between calls', () => {
    const lines = [
      VECTORS[0]!.raw,
      '{"a": NaN}',
      VECTORS[1]!.raw,
      '{"a": 1, "a": 2}',
      VECTORS[2]!.raw,
      '[1]',
      VECTORS[3]!.raw,
      '{"x',
      VECTORS[4]!.raw,
    ]
    for (let round = 0; round < 2; round++) {
      const got = lines.map((l) => {
        const r = lokiEntryHash(LOKI_GENESIS_HASH, l)
        return r.ok ? r.computed : r.reason
      })
      assert.equal(got[0], sha256(LOKI_GENESIS_HASH + VECTORS[0]!.canon))
      assert.equal(got[2], sha256(LOKI_GENESIS_HASH + VECTORS[1]!.canon))
      assert.equal(got[8], sha256(LOKI_GENESIS_HASH + VECTORS[4]!.canon))
      assert.match(String(got[5]), /not a JSON object/)
      assert.match(String(got[7]), /malformed JSON/)
    }
  })
})

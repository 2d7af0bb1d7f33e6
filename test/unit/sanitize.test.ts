import assert from 'node:assert/strict'
import {test} from 'node:test'

import {boundedJson, MAX_SHOWN_DEPTH, safeJson, sanitizeLine, sanitizeText} from '../../src/text/sanitize.js'

const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/

test('plain text, tabs, newlines and non-ASCII pass through sanitizeText unchanged', () => {
  for (const text of ['hello', 'a\tb\nc', 'café ☕ naïve 🚀', 'عربى', '']) assert.equal(sanitizeText(text), text)
})

test('CSI sequences (colours, cursor moves, screen clears) are removed whole', () => {
  assert.equal(sanitizeText('\u001b[31mred\u001b[0m'), 'red')
  assert.equal(sanitizeText('a\u001b[2J\u001b[Hb'), 'ab')
  assert.equal(sanitizeText('x\u001b[?1049hy'), 'xy')
  assert.equal(sanitizeText('8-bit \u009b31mCSI'), '8-bit CSI')
})

test('OSC, DCS and similar strings are removed with their payload (title set, hyperlinks, clipboard)', () => {
  assert.equal(sanitizeText('a\u001b]0;pwned\u0007b'), 'ab')
  assert.equal(sanitizeText('a\u001b]8;;http://evil\u001b\\link\u001b]8;;\u001b\\b'), 'alinkb')
  assert.equal(sanitizeText('a\u001b]52;c;ZXZpbA==\u0007b'), 'ab')
  assert.equal(sanitizeText('a\u001bPq#0;2;0;0;0\u001b\\b'), 'ab')
  // an unterminated one cannot leak its payload either
  assert.doesNotMatch(sanitizeText('a\u001b]0;title'), UNSAFE)
})

test('two-byte ESC forms, C0/C1 controls, DEL and bidi overrides/isolates are removed', () => {
  assert.equal(sanitizeText('a\u001bcb'), 'ab')
  assert.equal(sanitizeText('a\u0000b\u0007c\u0008d\u007fe\u0085f\u009dg'), 'abcdefg')
  assert.equal(sanitizeText('admin\u202egnp.exe'), 'admingnp.exe')
  assert.equal(sanitizeText('\u2066x\u2069\u202a\u202b\u202c\u202d'), 'x')
  assert.equal(sanitizeText('cr\rhidden'), 'crhidden')
})

test('sanitizeLine also folds tabs and newlines to spaces', () => {
  assert.equal(sanitizeLine('a\tb\nc\u001b[1md'), 'a b cd')
})

test('nothing unsafe survives any mix', () => {
  let text = ''
  for (let c = 0; c < 0xa0; c++) text += `${String.fromCharCode(c)}x`
  text += '\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069'
  assert.doesNotMatch(sanitizeLine(text), UNSAFE)
  assert.doesNotMatch(sanitizeLine(text), /[\t\n]/)
})

test('invisible format characters (Cf) are escaped visibly, so look-alike names differ on screen', () => {
  assert.equal(sanitizeText('ad\u200bmin'), 'ad\\u200bmin')
  assert.equal(sanitizeText('\ufeffroot\u2060\u2061\u2062\u2063\u2064'), '\\ufeffroot\\u2060\\u2061\\u2062\\u2063\\u2064')
  assert.equal(sanitizeText('a\u200c\u200db\u00adc\u180ed'), 'a\\u200c\\u200db\\u00adc\\u180ed')
  assert.equal(sanitizeText('tag\u{e0041}'), 'tag\\u{e0041}')
  assert.equal(sanitizeLine('x\u200b\ty'), 'x\\u200b y')
  assert.notEqual(sanitizeLine('admin'), sanitizeLine('adm\u200bin'))
  // bidi overrides are still removed, not escaped
  assert.equal(sanitizeText('a\u202eb'), 'ab')
})

test('safeJson writes invisible characters as JSON escapes: the same value, nothing invisible printed', () => {
  const value = {actor: 'ad\u200bmin\ufeff', tag: '\u{e0041}'}
  const text = safeJson(value)
  assert.doesNotMatch(text, /[\u200b\ufeff]|[\u{e0000}-\u{e007f}]/u)
  assert.deepEqual(JSON.parse(text), value)
})

test('safeJson and boundedJson cut a value nested deeper than JSON.stringify can go, instead of throwing', () => {
  let deep: unknown = 1
  for (let i = 0; i < 100_000; i++) deep = i % 2 ? [deep] : {a: deep}
  assert.throws(() => JSON.stringify(deep), RangeError)
  const text = safeJson({deep})
  let value: unknown = JSON.parse(text).deep
  let depth = 0
  while (value !== null && typeof value === 'object') {
    value = Array.isArray(value) ? value[0] : (value as {a: unknown}).a
    depth++
  }
  assert.equal(depth, MAX_SHOWN_DEPTH - 1)
  assert.equal(value, `[nested deeper than ${MAX_SHOWN_DEPTH} levels]`)
  assert.equal(boundedJson({a: [1, {b: 2}]}), '{"a":[1,{"b":2}]}')
  // A member named __proto__ stays data in the cut copy.
  const proto = JSON.parse(`{"__proto__":${'['.repeat(100_000)}${']'.repeat(100_000)}}`)
  assert.match(boundedJson(proto), /^\{"__proto__":\[\[/)
})

test("the format characters escaped are exactly Unicode's Cf (and U+180E), beyond the BMP too", () => {
  const bidi = /[\u202a-\u202e\u2066-\u2069]/
  const removed = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/
  for (let code = 0; code <= 0x10ffff; code++) {
    if (code >= 0xd800 && code <= 0xdfff) continue
    const char = String.fromCodePoint(code)
    if (bidi.test(char) || removed.test(char)) continue
    const escaped = code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`
    const expected = /\p{Cf}/u.test(char) || code === 0x180e ? escaped : char
    if (sanitizeText(char) !== expected)
      assert.fail(`U+${code.toString(16)}: ${JSON.stringify(sanitizeText(char))}, expected ${JSON.stringify(expected)}`)
    if (expected !== char && JSON.parse(safeJson(char)) !== char) assert.fail(`U+${code.toString(16)}: safeJson changed the value`)
    if (expected !== char && safeJson(char).includes(char)) assert.fail(`U+${code.toString(16)}: left raw by safeJson`)
  }
})

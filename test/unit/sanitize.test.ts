import assert from 'node:assert/strict'
import {test} from 'node:test'

import {sanitizeLine, sanitizeText} from '../../src/formats/sanitize.js'

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

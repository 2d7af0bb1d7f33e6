/**
 * Lossless JSON parsing and Python-compatible canonical JSON for loki-mode dashboard audit logs
 * (spec: lokimode-format.md §2.2, §2.3, §11, §12).
 *
 * loki-mode chains `_integrity_hash = sha256(prev_hex + json.dumps(entry, sort_keys=True))`, so to
 * verify its logs we must reproduce Python's `json.dumps` byte for byte: keys sorted by code point,
 * `", "` / `": "` separators, `ensure_ascii` escaping, Python float `repr`, arbitrary-precision ints
 * and bare `NaN` / `Infinity` / `-Infinity` tokens. `JSON.parse` loses number lexemes and rejects
 * the bare tokens, hence the hand-rolled single-pass parser below.
 *
 * Two implementations of the same function:
 * - the tree path: `parseLossless` (a tagged value tree) then `canonicalize`; general and simple;
 * - a fused byte-level fast path used by `canonicalizeText` / `lokiEntryHash` for the lines Python
 *   actually writes (pure ASCII): it verifies ≥ 320k entries/s on one core, about twice the tree
 *   path. Anything it does not handle goes to the tree path, and the tests cross-check both.
 *
 * No I/O. Functions are synchronous and not re-entrant (module-level cursor and scratch buffers,
 * reused between calls; large ones are released after use).
 */
import {sha256Hex} from '../chain/hash.js'

// ---------------------------------------------------------------------------------------------
// Value tree
// ---------------------------------------------------------------------------------------------

/** Object: entries in source order; duplicate keys are kept (and flagged with `dup`). */
export interface LObject {
  t: 'obj'
  entries: [string, LValue][]
  /** True when at least two entries share a key (Python keeps the last value). */
  dup: boolean
}
export interface LArray {
  t: 'arr'
  items: LValue[]
}
export interface LString {
  t: 'str'
  /** Decoded value (escapes resolved). */
  v: string
  /**
   * Optional hint set by the parser: `v` contains only 0x20–0x7E and no `"` or `\`, so it needs
   * no escaping. Only set it to true if that holds; when absent the serializer checks.
   */
  plain?: boolean
}
/** Integer lexeme (no `.`, `e`, `E`), exactly as written; arbitrary precision. */
export interface LInt {
  t: 'int'
  lex: string
}
/** Float lexeme exactly as written (`1.0`, `1e-05`, `1.5E3`, `-0.0`, ...). */
export interface LFloat {
  t: 'float'
  lex: string
}
/** Python's non-standard bare tokens. */
export interface LNonFinite {
  t: 'nonfinite'
  v: 'NaN' | 'Infinity' | '-Infinity'
}
export interface LBool {
  t: 'bool'
  v: boolean
}
export interface LNull {
  t: 'null'
}
export type LValue = LObject | LArray | LString | LInt | LFloat | LNonFinite | LBool | LNull

export interface DuplicateKeyInfo {
  /** Path of the duplicated key, e.g. `["details", "user_id"]` or `["user_id"]` at top level. */
  path: (string | number)[]
  /** Human-readable form, e.g. `$.details.user_id`, `$.a[2]["we ird"]`. */
  pointer: string
  /** UTF-16 offset of the second occurrence's key in the input. */
  offset: number
}

export type LosslessResult =
  | {
      ok: true
      value: LValue
      /** True when any bare `NaN`, `Infinity` or `-Infinity` token was present. */
      nonFinite: boolean
      /** The first duplicate key met in document order (any depth), or null. */
      duplicateKey: DuplicateKeyInfo | null
    }
  | {
      ok: false
      /** Short reason, e.g. `unterminated string`, `trailing data after JSON value`. */
      reason: string
      /** UTF-16 offset in the input where the problem was detected. */
      offset: number
    }

/** Maximum nesting of arrays/objects accepted by {@link parseLossless}. */
export const MAX_DEPTH = 512

// ---------------------------------------------------------------------------------------------
// Parser (single pass, charCodeAt, module-level cursor; synchronous so no re-entrancy issue)
// ---------------------------------------------------------------------------------------------

class LosslessParseError {
  constructor(
    readonly reason: string,
    readonly offset: number,
  ) {}
}

let src = ''
let pos = 0
let end = 0
let sawNonFinite = false
let dupObj: LObject | null = null
let dupKey = ''
let dupOffset = 0

function fail(reason: string, at: number = pos): never {
  throw new LosslessParseError(reason, at)
}

function skipWs(): void {
  // JSON / Python json whitespace: space, \t, \n, \r (charCodeAt past the end is NaN: stops).
  const s = src
  let p = pos
  let c = s.charCodeAt(p)
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = s.charCodeAt(++p)
  pos = p
}

function expectWord(word: string): void {
  if (!src.startsWith(word, pos)) fail('invalid literal')
  pos += word.length
}

function parseValue(depth: number): LValue {
  if (pos >= end) fail('unexpected end of input')
  const c = src.charCodeAt(pos)
  switch (c) {
    case 0x7b: // {
      return parseObject(depth + 1)
    case 0x5b: // [
      return parseArray(depth + 1)
    case 0x22: // "
      return parseString()
    case 0x74: // t
      expectWord('true')
      return {t: 'bool', v: true}
    case 0x66: // f
      expectWord('false')
      return {t: 'bool', v: false}
    case 0x6e: // n
      expectWord('null')
      return {t: 'null'}
    case 0x4e: // N
      expectWord('NaN')
      sawNonFinite = true
      return {t: 'nonfinite', v: 'NaN'}
    case 0x49: // I
      expectWord('Infinity')
      sawNonFinite = true
      return {t: 'nonfinite', v: 'Infinity'}
    case 0x2d: // -
      if (src.charCodeAt(pos + 1) === 0x49) {
        expectWord('-Infinity')
        sawNonFinite = true
        return {t: 'nonfinite', v: '-Infinity'}
      }
      return parseNumber()
    default:
      if (c >= 0x30 && c <= 0x39) return parseNumber()
      if (c === 0xfeff && pos === 0) fail('unexpected byte order mark')
      return fail('unexpected character')
  }
}

/** Scans a number at `pos` (JSON grammar); returns 1 for a float lexeme, 0 for an integer. */
function scanNumber(): number {
  const s = src
  let p = pos
  let c = s.charCodeAt(p)
  if (c === 0x2d) c = s.charCodeAt(++p)
  if (c === 0x30) {
    c = s.charCodeAt(++p)
  } else if (c >= 0x31 && c <= 0x39) {
    do c = s.charCodeAt(++p)
    while (c >= 0x30 && c <= 0x39)
  } else {
    fail('invalid number', p)
  }
  let isFloat = 0
  if (c === 0x2e) {
    // .
    isFloat = 1
    c = s.charCodeAt(++p)
    if (!(c >= 0x30 && c <= 0x39)) fail('invalid number: digit expected after "."', p)
    do c = s.charCodeAt(++p)
    while (c >= 0x30 && c <= 0x39)
  }
  if (c === 0x65 || c === 0x45) {
    // e E
    isFloat = 1
    c = s.charCodeAt(++p)
    if (c === 0x2b || c === 0x2d) c = s.charCodeAt(++p)
    if (!(c >= 0x30 && c <= 0x39)) fail('invalid number: digit expected in exponent', p)
    do c = s.charCodeAt(++p)
    while (c >= 0x30 && c <= 0x39)
  }
  pos = p
  return isFloat
}

function parseNumber(): LInt | LFloat {
  const start = pos
  const isFloat = scanNumber()
  const lex = src.slice(start, pos)
  return isFloat === 1 ? {t: 'float', lex} : {t: 'int', lex}
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  const l = c | 0x20
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10
  return -1
}

/** Parses a string starting at the opening quote; returns the decoded value, sets `lastPlain`. */
let lastPlain = true
function readString(): string {
  const s = src
  const n = end
  const open = pos
  let i = open + 1
  let plain = true
  // Fast path: no escapes.
  for (;;) {
    if (i >= n) fail('unterminated string', open)
    const c = s.charCodeAt(i)
    if (c === 0x22) {
      pos = i + 1
      lastPlain = plain
      return s.slice(open + 1, i)
    }
    if (c === 0x5c) break
    if (c < 0x20) fail('control character in string', i)
    if (c > 0x7e) plain = false
    i++
  }
  // Slow path: escapes present.
  let out = s.slice(open + 1, i)
  let chunk = i
  for (;;) {
    if (i >= n) fail('unterminated string', open)
    const c = s.charCodeAt(i)
    if (c === 0x22) {
      out += s.slice(chunk, i)
      pos = i + 1
      lastPlain = false
      return out
    }
    if (c === 0x5c) {
      out += s.slice(chunk, i)
      if (i + 1 >= n) fail('unterminated string', open)
      const e = s.charCodeAt(i + 1)
      switch (e) {
        case 0x22:
          out += '"'
          break
        case 0x5c:
          out += '\\'
          break
        case 0x2f:
          out += '/'
          break
        case 0x62:
          out += '\b'
          break
        case 0x66:
          out += '\f'
          break
        case 0x6e:
          out += '\n'
          break
        case 0x72:
          out += '\r'
          break
        case 0x74:
          out += '\t'
          break
        case 0x75: {
          // \uXXXX (exactly four hex digits)
          if (i + 6 > n) fail('invalid \\u escape', i)
          const h0 = hexVal(s.charCodeAt(i + 2))
          const h1 = hexVal(s.charCodeAt(i + 3))
          const h2 = hexVal(s.charCodeAt(i + 4))
          const h3 = hexVal(s.charCodeAt(i + 5))
          if ((h0 | h1 | h2 | h3) < 0) fail('invalid \\u escape', i)
          out += String.fromCharCode((h0 << 12) | (h1 << 8) | (h2 << 4) | h3)
          i += 6
          chunk = i
          continue
        }
        default:
          fail('invalid escape', i)
      }
      i += 2
      chunk = i
      continue
    }
    if (c < 0x20) fail('control character in string', i)
    i++
  }
}

function parseString(): LString {
  const v = readString()
  // The fast path flags every unit > 0x7e (incl. DEL) and rejects < 0x20; `"` and `\` can only
  // appear through escapes, which clear the flag.
  return {t: 'str', v, plain: lastPlain}
}

function parseArray(depth: number): LArray {
  if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`)
  pos++ // [
  const items: LValue[] = []
  skipWs()
  if (src.charCodeAt(pos) === 0x5d) {
    pos++
    return {t: 'arr', items}
  }
  for (;;) {
    skipWs()
    items.push(parseValue(depth))
    skipWs()
    if (pos >= end) fail('unexpected end of input in array')
    const c = src.charCodeAt(pos)
    if (c === 0x2c) {
      pos++
      continue
    }
    if (c === 0x5d) {
      pos++
      return {t: 'arr', items}
    }
    fail('expected "," or "]" in array')
  }
}

function parseObject(depth: number): LObject {
  if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`)
  pos++ // {
  const entries: [string, LValue][] = []
  const node: LObject = {t: 'obj', entries, dup: false}
  let seen: Set<string> | null = null
  skipWs()
  if (src.charCodeAt(pos) === 0x7d) {
    pos++
    return node
  }
  for (;;) {
    skipWs()
    if (pos >= end) fail('unexpected end of input in object')
    if (src.charCodeAt(pos) !== 0x22) fail('expected string key in object')
    const keyAt = pos
    const key = readString()
    // Duplicate detection: linear scan for small objects, a Set beyond 16 keys.
    const n = entries.length
    let isDup = false
    if (seen !== null) {
      if (seen.has(key)) isDup = true
      else seen.add(key)
    } else {
      for (let j = 0; j < n; j++) {
        if (entries[j]![0] === key) {
          isDup = true
          break
        }
      }
      if (n >= 16) {
        seen = new Set<string>()
        for (let j = 0; j < n; j++) seen.add(entries[j]![0])
        seen.add(key)
      }
    }
    if (isDup) {
      node.dup = true
      if (dupObj === null) {
        dupObj = node
        dupKey = key
        dupOffset = keyAt
      }
    }
    skipWs()
    if (src.charCodeAt(pos) !== 0x3a) fail(pos >= end ? 'unexpected end of input in object' : 'expected ":" after key')
    pos++
    skipWs()
    entries.push([key, parseValue(depth)])
    skipWs()
    if (pos >= end) fail('unexpected end of input in object')
    const c = src.charCodeAt(pos)
    if (c === 0x2c) {
      pos++
      continue
    }
    if (c === 0x7d) {
      pos++
      return node
    }
    fail('expected "," or "}" in object')
  }
}

/** Finds the path from `root` to object `target` (iterative DFS; only used on the rare duplicate path). */
function pathTo(root: LValue, target: LObject): (string | number)[] {
  const stack: {node: LValue; path: (string | number)[]}[] = [{node: root, path: []}]
  while (stack.length > 0) {
    const {node, path} = stack.pop()!
    if (node === target) return path
    if (node.t === 'obj') {
      for (const [k, v] of node.entries) if (v.t === 'obj' || v.t === 'arr') stack.push({node: v, path: [...path, k]})
    } else if (node.t === 'arr') {
      node.items.forEach((v, i) => {
        if (v.t === 'obj' || v.t === 'arr') stack.push({node: v, path: [...path, i]})
      })
    }
  }
  return []
}

function formatPointer(path: (string | number)[]): string {
  let s = '$'
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(p)) s += `.${p}`
    else s += `[${JSON.stringify(p)}]`
  }
  return s
}

/**
 * Parses one JSON text (typically one log line) losslessly.
 *
 * Accepts exactly Python `json.loads` input (default `strict=True`): standard JSON plus the bare
 * tokens `NaN`, `Infinity`, `-Infinity`; surrounding whitespace limited to space/tab/CR/LF.
 * Never throws for bad input: returns `{ok: false, reason, offset}`.
 * Duplicate keys are accepted (as Python does) but the first one is reported.
 */
export function parseLossless(text: string): LosslessResult {
  src = text
  pos = 0
  end = text.length
  sawNonFinite = false
  dupObj = null
  dupKey = ''
  dupOffset = 0
  try {
    skipWs()
    if (pos >= end) return {ok: false, reason: 'empty input', offset: pos}
    const value = parseValue(0)
    skipWs()
    if (pos < end) return {ok: false, reason: 'trailing data after JSON value', offset: pos}
    let duplicateKey: DuplicateKeyInfo | null = null
    if (dupObj !== null) {
      const path = [...pathTo(value, dupObj), dupKey]
      duplicateKey = {path, pointer: formatPointer(path), offset: dupOffset}
    }
    return {ok: true, value, nonFinite: sawNonFinite, duplicateKey}
  } catch (err) {
    if (err instanceof LosslessParseError) return {ok: false, reason: err.reason, offset: err.offset}
    if (err instanceof RangeError) return {ok: false, reason: 'input too deeply nested', offset: pos}
    throw err
  } finally {
    src = ''
    dupObj = null
  }
}

// ---------------------------------------------------------------------------------------------
// Canonical serializer: Python json.dumps(obj, sort_keys=True) with default settings
// ---------------------------------------------------------------------------------------------

const HEX = '0123456789abcdef'

/** Python `ensure_ascii` escaping of one JS string (UTF-16 units; astral chars → surrogate pairs). */
function quote(s: string): string {
  const n = s.length
  let i = 0
  for (; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) break
  }
  if (i === n) return '"' + s + '"'
  let out = '"' + s.slice(0, i)
  let chunk = i
  for (; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c) continue
    if (chunk < i) out += s.slice(chunk, i)
    chunk = i + 1
    switch (c) {
      case 0x22:
        out += '\\"'
        break
      case 0x5c:
        out += '\\\\'
        break
      case 0x0a:
        out += '\\n'
        break
      case 0x0d:
        out += '\\r'
        break
      case 0x09:
        out += '\\t'
        break
      case 0x08:
        out += '\\b'
        break
      case 0x0c:
        out += '\\f'
        break
      default:
        out += '\\u' + HEX[(c >> 12) & 15]! + HEX[(c >> 8) & 15]! + HEX[(c >> 4) & 15]! + HEX[c & 15]!
    }
  }
  if (chunk < n) out += s.slice(chunk)
  return out + '"'
}

/**
 * Python float `repr` of the double denoted by a float lexeme: shortest round-trip digits, fixed
 * notation when the decimal exponent is in [-4, 16), otherwise `d.ddde±XX` (at least two exponent
 * digits); integral values keep `.0`; `-0.0` stays; overflow (`1e400`) becomes `Infinity` as
 * Python's `json.dumps(float('inf'))` does.
 */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'NaN'
  if (x === Infinity) return 'Infinity'
  if (x === -Infinity) return '-Infinity'
  if (x === 0) return 1 / x < 0 ? '-0.0' : '0.0'
  const ax = x < 0 ? -x : x
  if (ax >= 1e-4 && ax < 1e16) {
    // JS uses fixed notation for exponents in [-6, 21), which covers Python's [-4, 16).
    const s = String(x)
    return Number.isInteger(x) ? s + '.0' : s
  }
  const s = x.toExponential() // shortest digits, e.g. "1.2345678901234568e+17", "1e-5"
  const e = s.indexOf('e')
  const mant = s.slice(0, e)
  const sign = s.charCodeAt(e + 1) === 0x2d ? '-' : '+'
  const digits = s.slice(e + 2)
  return mant + 'e' + sign + (digits.length < 2 ? '0' + digits : digits)
}

function intCanonical(lex: string): string {
  // Python int(): digits as written; only "-0" changes (JSON forbids leading zeros otherwise).
  return lex === '-0' ? '0' : lex
}

/**
 * `a < b` in code-point order, as Python compares `str` (`a !== b` is not required).
 * UTF-16 `<` differs only where surrogates meet: a valid pair is one code point >= U+10000
 * (above U+E000–U+FFFF), while a lone surrogate is its own code point U+D800–U+DFFF.
 */
function keyLess(a: string, b: string): boolean {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i)
    const cb = b.charCodeAt(i)
    if (ca !== cb) {
      if (ca < 0xd800 && cb < 0xd800) return ca < cb
      return surrogateAwareLess(a, b, i, ca, cb)
    }
  }
  return a.length < b.length
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff
}
function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff
}

function pairValue(hi: number, lo: number): number {
  return ((hi - 0xd800) << 10) + (lo - 0xdc00) + 0x10000
}

/** Code point starting at unit `i` (a valid pair is combined; anything else is the unit itself). */
function codePointFrom(s: string, i: number, c: number): number {
  if (isHigh(c) && i + 1 < s.length) {
    const d = s.charCodeAt(i + 1)
    if (isLow(d)) return pairValue(c, d)
  }
  return c
}

/**
 * Decides `a < b` where both share the prefix `[0, i)` and differ at unit `i` (`ca` vs `cb`), at
 * least one of which is >= 0xD800. If the shared unit `i-1` is a high surrogate that pairs with
 * `ca` or `cb`, the first differing code point starts at `i-1` (a pair >= U+10000 versus the lone
 * high surrogate, or two different pairs); otherwise it starts at `i`.
 */
function surrogateAwareLess(a: string, b: string, i: number, ca: number, cb: number): boolean {
  if (i > 0) {
    const prev = a.charCodeAt(i - 1)
    if (isHigh(prev)) {
      const la = isLow(ca)
      const lb = isLow(cb)
      if (la || lb) return (la ? pairValue(prev, ca) : prev) < (lb ? pairValue(prev, cb) : prev)
    }
  }
  return codePointFrom(a, i, ca) < codePointFrom(b, i, cb)
}

/** Entries to emit for an object: de-duplicated (last value wins, as Python dicts), sorted. */
function sortedEntries(node: LObject, omit: string | undefined): [string, LValue][] {
  let list: [string, LValue][]
  if (node.dup) {
    const m = new Map<string, LValue>()
    for (const [k, v] of node.entries) m.set(k, v)
    list = []
    for (const [k, v] of m) list.push([k, v])
  } else {
    list = node.entries.slice()
  }
  if (omit !== undefined) {
    for (let i = 0; i < list.length; i++) {
      if (list[i]![0] === omit) {
        list.splice(i, 1)
        break
      }
    }
  }
  const n = list.length
  if (n <= 24) {
    // Insertion sort: objects in audit logs are small; beats Array#sort with a comparator here.
    for (let i = 1; i < n; i++) {
      const cur = list[i]!
      const k = cur[0]
      let j = i - 1
      while (j >= 0 && keyLess(k, list[j]![0])) {
        list[j + 1] = list[j]!
        j--
      }
      list[j + 1] = cur
    }
  } else {
    list.sort((x, y) => (x[0] === y[0] ? 0 : keyLess(x[0], y[0]) ? -1 : 1))
  }
  return list
}

function emit(node: LValue, depth: number, omit: string | undefined): string {
  switch (node.t) {
    case 'str':
      return node.plain === true ? '"' + node.v + '"' : quote(node.v)
    case 'obj': {
      if (depth > 10_000) throw new RangeError('canonicalize: value nested too deeply')
      const list = sortedEntries(node, depth === 0 ? omit : undefined)
      const n = list.length
      if (n === 0) return '{}'
      let out = '{'
      for (let i = 0; i < n; i++) {
        const e = list[i]!
        if (i > 0) out += ', '
        out += quote(e[0]) + ': ' + emit(e[1], depth + 1, undefined)
      }
      return out + '}'
    }
    case 'arr': {
      if (depth > 10_000) throw new RangeError('canonicalize: value nested too deeply')
      const items = node.items
      const n = items.length
      if (n === 0) return '[]'
      let out = '['
      for (let i = 0; i < n; i++) {
        if (i > 0) out += ', '
        out += emit(items[i]!, depth + 1, undefined)
      }
      return out + ']'
    }
    case 'int':
      return intCanonical(node.lex)
    case 'float':
      return pythonFloatRepr(Number(node.lex))
    case 'nonfinite':
      return node.v
    case 'bool':
      return node.v ? 'true' : 'false'
    case 'null':
      return 'null'
  }
}

/**
 * Python `json.dumps(value, sort_keys=True)` (default separators, `ensure_ascii=True`).
 * Duplicate keys collapse as in a Python dict (last value wins). When `omitTopLevelKey` is given
 * and `value` is an object, that key is left out (used for `_integrity_hash`).
 * Output is pure ASCII. Throws RangeError only for hand-built trees nested over 10 000 levels.
 */
export function canonicalize(value: LValue, omitTopLevelKey?: string): string {
  return emit(value, 0, omitTopLevelKey)
}

// ---------------------------------------------------------------------------------------------
// Fused fast path: parse + canonicalize in one pass over bytes, no tree
// ---------------------------------------------------------------------------------------------
//
// For lines that are pure ASCII (everything Python's json.dumps writes with ensure_ascii), the
// line is copied once into a byte buffer and canonicalized into an arena: verbatim pieces
// (`"key": value` members, strings already escaped canonically, integers, literals, arrays written
// exactly as canonical) are copied byte ranges; only objects are re-ordered. Anything unusual
// (malformed input, duplicate keys, NaN/Infinity, non-ASCII, escapes in keys, nesting deeper than
// MAX_DEPTH, arena overflow) bails out to the tree path (parseLossless + canonicalize), so every
// error reason, duplicate-key report and NaN flag comes from the tree path; canonical output of
// the fast path is checked against the tree path by the tests (and a Python fuzz run).

class Bail {}
const BAIL = new Bail()

/** Lines longer than this (UTF-16 units) always take the tree path. */
const FAST_MAX_LENGTH = 1 << 20
/** Scratch buffers larger than this (bytes) are dropped after the call that needed them. */
const SCRATCH_KEEP_BYTES = 4 << 20

// One buffer holds both the line's bytes ([0, end), then a NUL sentinel) and, from `arenaBase`
// on, the canonical output pieces, so every copy is a single native `copyWithin`.
let mem: Buffer = Buffer.alloc(0)
let arenaBase = 0
let atop = 0 // arena top
// Result of the last fast value: bytes [segStart, segEnd) of `mem` (source text or arena).
let segStart = 0
let segEnd = 0
// Top-level omitted member's value segment, or omitStart = -1.
let omitStart = -1
let omitEnd = 0
// Scratch stacks for object members (MEMBER_INTS ints each) and their sort order; an object uses
// [base, top) and nested objects work above it, releasing their part before the parent goes on.
const MEMBER_INTS = 5 // keyStart, keyEnd, valueStart, valueEnd, first key byte
let members = new Int32Array(0)
let membersTop = 0
let order = new Int32Array(0)

function skipWsB(): void {
  const b = mem
  let p = pos
  let c = b[p]!
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++p]!
  pos = p
}

function ensureArena(extra: number): void {
  if (atop + extra > mem.length) throw BAIL
}

/** Appends ASCII text (canonical JSON is ASCII) to the arena; anything else: tree path. */
function writeAscii(s: string): void {
  const n = s.length
  ensureArena(n)
  const a = mem
  let t = atop
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c > 0x7f) throw BAIL
    a[t++] = c
  }
  atop = t
}

/** Appends bytes [from, to) of `mem` (source or an earlier arena piece) to the arena. */
function copyBytes(from: number, to: number): void {
  const len = to - from
  if (len > 12) {
    mem.copyWithin(atop, from, to)
    atop += len
  } else {
    const a = mem
    let t = atop
    for (let i = from; i < to; i++) a[t++] = a[i]!
    atop = t
  }
}

function fastStringB(): void {
  const b = mem
  const open = pos
  let i = open + 1
  for (;;) {
    const c = b[i]!
    if (c === 0x22) {
      pos = i + 1
      segStart = open
      segEnd = i + 1
      return
    }
    if (c === 0x5c) {
      const e = b[i + 1]!
      // Escapes json.dumps itself writes are already canonical.
      if (e === 0x22 || e === 0x5c || e === 0x6e || e === 0x74 || e === 0x72 || e === 0x62 || e === 0x66) {
        i += 2
        continue
      }
      if (e === 0x75) {
        const v = lowerHex4B(b, i + 2)
        if (v > 0x7e || (v >= 0 && v < 0x20 && v !== 0x08 && v !== 0x09 && v !== 0x0a && v !== 0x0c && v !== 0x0d)) {
          i += 6
          continue
        }
      }
      return recodeStringB(open)
    }
    if (c < 0x20) throw BAIL // control character, or the NUL sentinel at the end
    if (c > 0x7e) return recodeStringB(open) // DEL
    i++
  }
}

/** Value of four lowercase hex digits at `i`, or -1 (uppercase is valid JSON but not canonical). */
function lowerHex4B(b: Uint8Array, i: number): number {
  let v = 0
  for (let k = i; k < i + 4; k++) {
    const c = b[k]!
    if (c >= 0x30 && c <= 0x39) v = (v << 4) | (c - 0x30)
    else if (c >= 0x61 && c <= 0x66) v = (v << 4) | (c - 0x57)
    else return -1
  }
  return v
}

/** Decodes the string at `open` (from the line text) and writes it re-escaped canonically. */
function recodeStringB(open: number): void {
  pos = open
  writeArenaSeg(quote(readString()))
}

/** Writes `s` (ASCII) to the arena and makes it the current segment. */
function writeArenaSeg(s: string): void {
  const at = atop
  writeAscii(s)
  segStart = at
  segEnd = atop
}

function fastNumberB(): void {
  const start = pos
  const isFloat = scanNumberB()
  if (isFloat === 0) {
    if (pos - start === 2 && mem[start] === 0x2d && mem[start + 1] === 0x30) return writeArenaSeg('0') // int("-0")
    segStart = start
    segEnd = pos
    return
  }
  const lex = src.slice(start, pos)
  const repr = pythonFloatRepr(Number(lex))
  if (repr !== lex) return writeArenaSeg(repr)
  segStart = start
  segEnd = pos
}

/** scanNumber over the bytes; throws BAIL instead of reporting. Returns 1 for a float lexeme. */
function scanNumberB(): number {
  const b = mem
  let p = pos
  let c = b[p]!
  if (c === 0x2d) c = b[++p]!
  if (c === 0x30) {
    c = b[++p]!
  } else if (c >= 0x31 && c <= 0x39) {
    do c = b[++p]!
    while (c >= 0x30 && c <= 0x39)
  } else {
    throw BAIL // includes -Infinity
  }
  let isFloat = 0
  if (c === 0x2e) {
    isFloat = 1
    c = b[++p]!
    if (!(c >= 0x30 && c <= 0x39)) throw BAIL
    do c = b[++p]!
    while (c >= 0x30 && c <= 0x39)
  }
  if (c === 0x65 || c === 0x45) {
    isFloat = 1
    c = b[++p]!
    if (c === 0x2b || c === 0x2d) c = b[++p]!
    if (!(c >= 0x30 && c <= 0x39)) throw BAIL
    do c = b[++p]!
    while (c >= 0x30 && c <= 0x39)
  }
  pos = p
  return isFloat
}

function fastValueB(depth: number): void {
  const b = mem
  const p = pos
  const c = b[p]!
  if (c === 0x22) return fastStringB()
  if (c === 0x7b) return fastObjectB(depth + 1, undefined, '')
  if (c === 0x5b) return fastArrayB(depth + 1)
  if ((c >= 0x30 && c <= 0x39) || c === 0x2d) return fastNumberB()
  let n = 0
  if (c === 0x6e) {
    if (b[p + 1] === 0x75 && b[p + 2] === 0x6c && b[p + 3] === 0x6c) n = 4
  } else if (c === 0x74) {
    if (b[p + 1] === 0x72 && b[p + 2] === 0x75 && b[p + 3] === 0x65) n = 4
  } else if (c === 0x66) {
    if (b[p + 1] === 0x61 && b[p + 2] === 0x6c && b[p + 3] === 0x73 && b[p + 4] === 0x65) n = 5
  }
  if (n === 0) throw BAIL
  pos = p + n
  segStart = p
  segEnd = p + n
}

function fastArrayB(depth: number): void {
  if (depth > MAX_DEPTH) throw BAIL
  const b = mem
  const open = pos
  pos++ // [
  skipWsB()
  if (b[pos] === 0x5d) {
    pos++
    if (pos === open + 2) {
      segStart = open
      segEnd = pos
      return
    }
    return writeArenaSeg('[]')
  }
  const items: number[] = [] // [start, end] per item
  let same = true // the source text is already canonical: verbatim items, exact ", " separators
  let size = 2
  for (;;) {
    const at = pos
    skipWsB()
    if (pos !== at) same = false
    fastValueB(depth)
    if (segStart >= arenaBase) same = false // re-written, not source text
    items.push(segStart, segEnd)
    size += segEnd - segStart + 2
    let c = b[pos++]
    if (c === 0x2c) {
      if (b[pos] === 0x20) pos++
      else same = false
      continue
    }
    if (c === 0x5d) break
    pos--
    skipWsB()
    same = false
    c = b[pos++]
    if (c === 0x2c) continue
    if (c === 0x5d) break
    throw BAIL
  }
  if (same) {
    segStart = open
    segEnd = pos
    return
  }
  ensureArena(size)
  const start = atop
  const a = mem
  a[atop++] = 0x5b
  for (let k = 0; k < items.length; k += 2) {
    if (k > 0) {
      a[atop++] = 0x2c
      a[atop++] = 0x20
    }
    copyBytes(items[k]!, items[k + 1]!)
  }
  a[atop++] = 0x5d
  segStart = start
  segEnd = atop
}

/** Compares the quoted keys at [a0, a1) and [b0, b1) of `mem` (ASCII, no escapes): <0, 0, >0. */
function compareKeysB(a0: number, a1: number, b0: number, b1: number): number {
  const b = mem
  const la = a1 - a0
  const lb = b1 - b0
  // Compare the contents between the quotes; a proper prefix sorts first.
  const n = Math.min(la, lb) - 1
  for (let i = 1; i < n; i++) {
    const d = b[a0 + i]! - b[b0 + i]!
    if (d !== 0) return d
  }
  return la - lb
}

/** True when the quoted key at [k0, k1) of `mem` spells `key`. */
function keyIs(k0: number, k1: number, key: string): boolean {
  if (k1 - k0 - 2 !== key.length) return false
  const b = mem
  for (let i = 0; i < key.length; i++) if (b[k0 + 1 + i] !== key.charCodeAt(i)) return false
  return true
}

/**
 * Object at `pos`. At the top level (`omit` given) the member named `omit` is left out and its
 * value segment recorded, and `prefix` (ASCII) is written just before the object's output.
 */
function fastObjectB(depth: number, omit: string | undefined, prefix: string): void {
  if (depth > MAX_DEPTH) throw BAIL
  const b = mem
  pos++ // {
  skipWsB()
  const base = membersTop
  let size = 2 + prefix.length
  if (b[pos] === 0x7d) {
    pos++
  } else {
    for (;;) {
      skipWsB()
      const k0 = pos
      if (b[k0] !== 0x22) throw BAIL
      let i = k0 + 1
      let c = b[i]!
      while (c !== 0x22) {
        if (c < 0x20 || c > 0x7e || c === 0x5c) throw BAIL // escapes/DEL/control/end: tree path
        c = b[++i]!
      }
      const k1 = i + 1
      pos = k1
      if (b[pos] !== 0x3a) {
        skipWsB()
        if (b[pos] !== 0x3a) throw BAIL
      }
      pos++
      skipWsB()
      membersTop += MEMBER_INTS // reserve before nested objects use the stack
      fastValueB(depth)
      if (omit !== undefined && keyIs(k0, k1, omit)) {
        membersTop -= MEMBER_INTS
        if (omitStart >= 0) throw BAIL // duplicated omitted key: let the tree path apply last-wins
        omitStart = segStart
        omitEnd = segEnd
      } else {
        const r = membersTop - MEMBER_INTS
        const ms = members
        ms[r] = k0
        ms[r + 1] = k1
        ms[r + 2] = segStart
        ms[r + 3] = segEnd
        ms[r + 4] = k1 - k0 > 2 ? b[k0 + 1]! : -1
        size += k1 - k0 + segEnd - segStart + 4
      }
      c = b[pos++]!
      if (c === 0x2c) continue
      if (c === 0x7d) break
      pos--
      skipWsB()
      c = b[pos++]!
      if (c === 0x2c) continue
      if (c === 0x7d) break
      throw BAIL
    }
  }
  // Insertion sort of member records (by index into `order`, which shares the stack's layout:
  // order[base + r] for r < count) by key bytes, i.e. code point order for ASCII keys.
  const ms = members
  const ord = order
  const count = (membersTop - base) / MEMBER_INTS
  for (let r = 0; r < count; r++) {
    const rec = base + r * MEMBER_INTS
    const k0 = ms[rec]!
    const k1 = ms[rec + 1]!
    const head = ms[rec + 4]!
    let j = r
    while (j > 0) {
      const o = ord[base + j - 1]!
      const oh = ms[o + 4]!
      if (oh < head) break
      if (oh === head) {
        const cmp = compareKeysB(k0, k1, ms[o]!, ms[o + 1]!)
        if (cmp > 0) break
        if (cmp === 0) throw BAIL // duplicate key
      }
      ord[base + j] = o
      j--
    }
    ord[base + j] = rec
  }
  membersTop = base
  ensureArena(size + 2 * prefix.length) // room for a non-ASCII prefix to be detected
  const start = atop
  if (prefix.length > 0) {
    // Native write; a byte count different from the length means non-ASCII: tree path.
    if (mem.write(prefix, atop, 3 * prefix.length, 'utf8') !== prefix.length) throw BAIL
    atop += prefix.length
  }
  const a = mem
  a[atop++] = 0x7b
  for (let r = 0; r < count; r++) {
    const rec = ord[base + r]!
    if (r > 0) {
      a[atop++] = 0x2c
      a[atop++] = 0x20
    }
    const k1 = ms[rec + 1]!
    const v0 = ms[rec + 2]!
    if (v0 === k1 + 2 && b[k1] === 0x3a && b[k1 + 1] === 0x20) {
      copyBytes(ms[rec]!, ms[rec + 3]!) // `"key": value` exactly as in the source
    } else {
      copyBytes(ms[rec]!, k1)
      a[atop++] = 0x3a
      a[atop++] = 0x20
      copyBytes(v0, ms[rec + 3]!)
    }
  }
  a[atop++] = 0x7d
  segStart = start
  segEnd = atop
}

/**
 * Runs the byte fast path; on success `mem` holds `prefix + canonical` at [segStart, segEnd).
 * Throws BAIL (or a parse error) when the tree path is needed.
 */
function fastTop(text: string, omit: string | undefined, prefix: string): void {
  const n = text.length
  if (n > FAST_MAX_LENGTH) throw BAIL
  // Input: up to 3 bytes per unit if non-ASCII (then rejected below), then the arena.
  const base = 3 * n + 16
  const need = base + 8 * n + 3 * prefix.length + 1024
  if (mem.length < need) mem = Buffer.allocUnsafe(Math.max(need, 65536))
  // A record is reserved only after a complete key and its ":" (at least 3 source bytes, `"":`),
  // so at most n / 3 records are ever live. (Int32Array drops out-of-range writes silently: this
  // bound must hold.)
  const stackInts = (Math.floor(n / 3) + 4) * MEMBER_INTS
  if (members.length < stackInts) {
    members = new Int32Array(Math.max(stackInts, 4096))
    order = new Int32Array(members.length)
  }
  membersTop = 0
  if (mem.write(text, 0, base, 'utf8') !== n) throw BAIL // not pure ASCII
  mem[n] = 0 // sentinel: invalid in every JSON context
  src = text
  pos = 0
  end = n
  arenaBase = base
  atop = base
  omitStart = -1
  skipWsB()
  if (mem[pos] !== 0x7b) throw BAIL
  fastObjectB(1, omit, prefix)
  skipWsB()
  if (pos !== n) throw BAIL
}

export type CanonicalTextResult =
  | {
      ok: true
      canonical: string
      /** Value of the omitted top-level key if it is a string (last one if duplicated), else null. */
      omittedString: string | null
      nonFinite: boolean
      duplicateKey: DuplicateKeyInfo | null
    }
  | {ok: false; reason: string; offset: number}

/** Decoded string value of the omitted member after a fast-path run, or null. */
function omittedStringB(): string | null {
  if (omitStart < 0 || mem[omitStart] !== 0x22) return null
  const quoted = mem.toString('latin1', omitStart, omitEnd)
  return quoted.indexOf('\\') < 0 ? quoted.slice(1, -1) : (JSON.parse(quoted) as string)
}

function isFastPathMiss(err: unknown): boolean {
  return err instanceof Bail || err instanceof LosslessParseError || err instanceof RangeError
}

/** Ends a fast-path run: drops the line reference and oversized scratch buffers. */
function fastDone(): void {
  src = ''
  if (mem.length > SCRATCH_KEEP_BYTES) mem = Buffer.alloc(0)
  if (members.length * 4 > SCRATCH_KEEP_BYTES) {
    members = new Int32Array(0)
    order = new Int32Array(0)
  }
}

/**
 * `canonicalize(parseLossless(text).value, omitTopLevelKey)` for a JSON text whose top level must
 * be an object, done in one pass without building the tree when the text allows. Also returns the
 * omitted member's string value (e.g. the stored `_integrity_hash`). A top-level value that is not
 * an object gives `{ok: false, reason: 'top-level value is an array, not a JSON object', ...}`.
 */
export function canonicalizeText(text: string, omitTopLevelKey?: string): CanonicalTextResult {
  return (
    withFastPath(text, omitTopLevelKey, '', () => ({
      ok: true,
      canonical: mem.toString('latin1', segStart, segEnd),
      omittedString: omittedStringB(),
      nonFinite: false,
      duplicateKey: null,
    })) ?? canonicalizeTextSlow(text, omitTopLevelKey)
  )
}

/**
 * Runs the byte-level fast pass over `text` and reads its result with `read` while the pass's
 * buffer is held; undefined when the line needs the tree path (anything unusual).
 */
function withFastPath<T>(text: string, omitTopLevelKey: string | undefined, prefix: string, read: () => T): T | undefined {
  try {
    fastTop(text, omitTopLevelKey, prefix)
    return read()
  } catch (err) {
    if (!isFastPathMiss(err)) throw err
    return undefined
  } finally {
    fastDone()
  }
}

function canonicalizeTextSlow(text: string, omitTopLevelKey: string | undefined): CanonicalTextResult {
  const parsed = parseLossless(text)
  if (!parsed.ok) return parsed
  const value = parsed.value
  if (value.t !== 'obj') {
    return {
      ok: false,
      reason: `top-level value is ${describe(value)}, not a JSON object`,
      offset: text.length - text.trimStart().length,
    }
  }
  let omittedString: string | null = null
  if (omitTopLevelKey !== undefined) {
    const entries = value.entries
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]!
      if (e[0] === omitTopLevelKey) {
        if (e[1].t === 'str') omittedString = e[1].v
        break
      }
    }
  }
  return {
    ok: true,
    canonical: canonicalize(value, omitTopLevelKey),
    omittedString,
    nonFinite: parsed.nonFinite,
    duplicateKey: parsed.duplicateKey,
  }
}

function describe(value: LValue): string {
  switch (value.t) {
    case 'obj':
      return 'an object'
    case 'arr':
      return 'an array'
    case 'str':
      return 'a string'
    case 'null':
      return 'null'
    case 'bool':
      return 'a boolean'
    default:
      return 'a number'
  }
}

// ---------------------------------------------------------------------------------------------
// Hash
// ---------------------------------------------------------------------------------------------

export const LOKI_GENESIS_HASH = '0'.repeat(64)
export const LOKI_HASH_KEY = '_integrity_hash'

export type LokiEntryHashResult =
  | {
      ok: true
      /** sha256(prevHex + canonical JSON of the entry without `_integrity_hash`), lowercase hex. */
      computed: string
      /** The entry's `_integrity_hash` if it is a string (last one if duplicated), else null. */
      stored: string | null
      /** Bare NaN/Infinity tokens were present (Python wrote them; not standard JSON). */
      nonFinite: boolean
      /** First duplicate key, if any: Python's verifier silently keeps the last value. */
      duplicateKey: DuplicateKeyInfo | null
    }
  | {ok: false; reason: string; offset: number}

/**
 * Recomputes a loki-mode entry hash the way `verify_log_integrity` does (§2.3): parse the line,
 * drop the top-level `_integrity_hash`, canonicalize, `sha256(prevHex + canonical)`.
 * Returns `{ok: false, reason, offset}` for blank lines (`'blank line'`), malformed JSON and JSON
 * values that are not objects (which crash the Python verifier). Never throws for bad input.
 * Duplicate keys and NaN/Infinity are reported, not rejected: policy is the caller's.
 * (To see the canonical string itself, use `canonicalizeText(line, LOKI_HASH_KEY)`.)
 */
export function lokiEntryHash(prevHex: string, line: string): LokiEntryHashResult {
  const fast = withFastPath(
    line,
    LOKI_HASH_KEY,
    prevHex,
    (): LokiEntryHashResult => ({
      ok: true,
      computed: sha256Hex(new Uint8Array(mem.buffer, mem.byteOffset + segStart, segEnd - segStart)),
      stored: omittedStringB(),
      nonFinite: false,
      duplicateKey: null,
    }),
  )
  if (fast) return fast
  const r = canonicalizeTextSlow(line, LOKI_HASH_KEY)
  if (!r.ok) {
    if (r.reason === 'empty input') return {ok: false, reason: 'blank line', offset: r.offset}
    if (r.reason.startsWith('top-level value is ')) {
      return {ok: false, reason: 'entry ' + r.reason.slice('top-level value '.length), offset: r.offset}
    }
    return {ok: false, reason: `malformed JSON: ${r.reason}`, offset: r.offset}
  }
  return {
    ok: true,
    computed: sha256Hex(prevHex + r.canonical),
    stored: r.omittedString,
    nonFinite: r.nonFinite,
    duplicateKey: r.duplicateKey,
  }
}

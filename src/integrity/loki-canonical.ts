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
 * Pure module: no I/O, no global state that survives a call.
 */
import * as nodeCrypto from 'node:crypto'

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
  while (pos < end) {
    const c = src.charCodeAt(pos)
    // JSON / Python json whitespace: space, \t, \n, \r
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++
    else return
  }
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

function parseNumber(): LInt | LFloat {
  const start = pos
  let c = src.charCodeAt(pos)
  if (c === 0x2d) c = src.charCodeAt(++pos)
  if (c === 0x30) {
    c = src.charCodeAt(++pos)
  } else if (c >= 0x31 && c <= 0x39) {
    do c = src.charCodeAt(++pos)
    while (c >= 0x30 && c <= 0x39)
  } else {
    fail('invalid number')
  }
  let isFloat = false
  if (c === 0x2e) {
    // .
    isFloat = true
    c = src.charCodeAt(++pos)
    if (!(c >= 0x30 && c <= 0x39)) fail('invalid number: digit expected after "."')
    do c = src.charCodeAt(++pos)
    while (c >= 0x30 && c <= 0x39)
  }
  if (c === 0x65 || c === 0x45) {
    // e E
    isFloat = true
    c = src.charCodeAt(++pos)
    if (c === 0x2b || c === 0x2d) c = src.charCodeAt(++pos)
    if (!(c >= 0x30 && c <= 0x39)) fail('invalid number: digit expected in exponent')
    do c = src.charCodeAt(++pos)
    while (c >= 0x30 && c <= 0x39)
  }
  const lex = src.slice(start, pos)
  return isFloat ? {t: 'float', lex} : {t: 'int', lex}
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
  const open = pos
  let i = pos + 1
  let plain = true
  // Fast path: no escapes.
  for (;;) {
    if (i >= end) fail('unterminated string', open)
    const c = src.charCodeAt(i)
    if (c === 0x22) {
      pos = i + 1
      lastPlain = plain
      return src.slice(open + 1, i)
    }
    if (c === 0x5c) break
    if (c < 0x20) fail('control character in string', i)
    if (c > 0x7e) plain = false
    i++
  }
  // Slow path: escapes present.
  plain = false
  let out = src.slice(open + 1, i)
  let chunk = i
  for (;;) {
    if (i >= end) fail('unterminated string', open)
    const c = src.charCodeAt(i)
    if (c === 0x22) {
      out += src.slice(chunk, i)
      pos = i + 1
      lastPlain = false
      return out
    }
    if (c === 0x5c) {
      out += src.slice(chunk, i)
      if (i + 1 >= end) fail('unterminated string', open)
      const e = src.charCodeAt(i + 1)
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
          if (i + 6 > end) fail('invalid \\u escape', i)
          const h0 = hexVal(src.charCodeAt(i + 2))
          const h1 = hexVal(src.charCodeAt(i + 3))
          const h2 = hexVal(src.charCodeAt(i + 4))
          const h3 = hexVal(src.charCodeAt(i + 5))
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
        out +=
          '\\u' + HEX[(c >> 12) & 15]! + HEX[(c >> 8) & 15]! + HEX[(c >> 4) & 15]! + HEX[c & 15]!
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
  if (x !== x) return 'NaN'
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
  const n = a.length < b.length ? a.length : b.length
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
 * Output is pure ASCII.
 */
export function canonicalize(value: LValue, omitTopLevelKey?: string): string {
  return emit(value, 0, omitTopLevelKey)
}

// ---------------------------------------------------------------------------------------------
// Hash
// ---------------------------------------------------------------------------------------------

export const LOKI_GENESIS_HASH = '0'.repeat(64)
export const LOKI_HASH_KEY = '_integrity_hash'

type HashFn = (algorithm: string, data: string, outputEncoding: 'hex') => string
const oneShotHash: HashFn | undefined =
  typeof (nodeCrypto as {hash?: unknown}).hash === 'function' ? (nodeCrypto.hash as HashFn) : undefined

/** Lowercase hex SHA-256 of the UTF-8 bytes of `data`. */
export function sha256Hex(data: string): string {
  if (oneShotHash !== undefined) return oneShotHash('sha256', data, 'hex')
  return nodeCrypto.createHash('sha256').update(data, 'utf8').digest('hex')
}

export type LokiEntryHashResult =
  | {
      ok: true
      /** sha256(prevHex + canonical JSON of the entry without `_integrity_hash`), lowercase hex. */
      computed: string
      /** The entry's `_integrity_hash` if it is a string (last one if duplicated), else null. */
      stored: string | null
      /** The canonical JSON that was hashed (without `prevHex`). */
      canonical: string
      /** Bare NaN/Infinity tokens were present (Python wrote them; not standard JSON). */
      nonFinite: boolean
      /** First duplicate key, if any: Python's verifier silently keeps the last value. */
      duplicateKey: DuplicateKeyInfo | null
    }
  | {ok: false; reason: string; offset?: number}

/**
 * Recomputes a loki-mode entry hash the way `verify_log_integrity` does (§2.3): parse the line,
 * drop top-level `_integrity_hash`, canonicalize, `sha256(prevHex + canonical)`.
 * Returns `{ok: false}` for blank lines, malformed JSON and JSON values that are not objects
 * (which crash the Python verifier). Never throws for bad input.
 * Duplicate keys and non-finite numbers are reported, not rejected: policy is the caller's.
 */
export function lokiEntryHash(prevHex: string, line: string): LokiEntryHashResult {
  const parsed = parseLossless(line)
  if (!parsed.ok) {
    return {ok: false, reason: parsed.reason === 'empty input' ? 'blank line' : `malformed JSON: ${parsed.reason}`, offset: parsed.offset}
  }
  const value = parsed.value
  if (value.t !== 'obj') {
    const what = value.t === 'arr' ? 'an array' : value.t === 'str' ? 'a string' : value.t === 'null' ? 'null' : value.t === 'bool' ? 'a boolean' : 'a number'
    return {ok: false, reason: `entry is ${what}, not a JSON object`}
  }
  let stored: string | null = null
  const entries = value.entries
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!
    if (e[0] === LOKI_HASH_KEY) {
      if (e[1].t === 'str') stored = e[1].v
      break
    }
  }
  const canonical = canonicalize(value, LOKI_HASH_KEY)
  return {
    ok: true,
    computed: sha256Hex(prevHex + canonical),
    stored,
    canonical,
    nonFinite: parsed.nonFinite,
    duplicateKey: parsed.duplicateKey,
  }
}

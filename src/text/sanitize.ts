/**
 * Log content must never drive the terminal. This removes ANSI/VT escape sequences (CSI, OSC, DCS,
 * and two-byte ESC forms), C0 and C1 control characters and DEL, and the Unicode bidirectional
 * overrides that can make text display in another order than it is stored. Other invisible format
 * characters (zero-width space and joiners, BOM, word joiner, soft hyphen, tags: Unicode's Cf) are
 * written as visible `\u200b` escapes, so two names that differ only by them never look the same.
 */
const ESCAPES =
  /\x1b\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]|\x1b[\]PX^_][\s\S]*?(?:\x07|\x1b\\|$)|\x9b[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]|\x1b[\x20-\x7e]?/g
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g
const CONTROLS_BUT_CR = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g
/**
 * Unicode's format characters (Cf, as of Unicode 15) and U+180E (Cf until 6.3), spelled out in
 * UTF-16 (pairs beyond the BMP) rather than as \p{Cf}: a `u` regex made every field twice as slow.
 */
const FORMAT_CHARS =
  '[\\xad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890\\u0891\\u08e2\\u180e\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb]' +
  '|\\ud804[\\udcbd\\udccd]|\\ud80d[\\udc30-\\udc3f]|\\ud82f[\\udca0-\\udca3]|\\ud834[\\udd73-\\udd7a]|\\udb40[\\udc01\\udc20-\\udc7f]'
/** Format characters (bidi controls among them are removed before this). */
const INVISIBLE = new RegExp(FORMAT_CHARS, 'g')
const ANY_UNSAFE = new RegExp(`[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\\u2028\\u2029]|${FORMAT_CHARS}`)

/** `\u200b`, or `\u{e0041}` beyond the BMP. */
function visibleEscape(char: string): string {
  const code = char.codePointAt(0)!
  return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`
}

/**
 * Strips escape sequences and control characters and escapes invisible format characters; keeps tab
 * and newline, and carriage return when asked (a CSV cell's CRLF is data, quoted).
 */
export function sanitizeText(text: string, keepCarriageReturn = false): string {
  if (!ANY_UNSAFE.test(text)) return text
  return text
    .replace(ESCAPES, '')
    .replace(keepCarriageReturn ? CONTROLS_BUT_CR : CONTROLS, '')
    .replace(INVISIBLE, visibleEscape)
}

/** As sanitizeText, and also folds newlines and tabs to spaces, for one-line fields. */
export function sanitizeLine(text: string): string {
  return sanitizeText(text).replace(/[\t\n]/g, ' ')
}

const JSON_UNSAFE = new RegExp(`[\\x7f-\\x9f\\u2028\\u2029]|${FORMAT_CHARS}`, 'g')

/** JSON.s `\uXXXX` escape of each UTF-16 unit (a surrogate pair beyond the BMP). */
function jsonEscape(char: string): string {
  let out = ''
  for (let i = 0; i < char.length; i++) out += `\\u${char.charCodeAt(i).toString(16).padStart(4, '0')}`
  return out
}

/** How deep a value is shown when it nests too deep to write whole; deeper values become a note. */
export const MAX_SHOWN_DEPTH = 64
const TOO_DEEP = `[nested deeper than ${MAX_SHOWN_DEPTH} levels]`

/** A copy of a JSON value with what lies deeper than `depth` replaced by a note. */
function cutDepth(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value
  if (depth === 0) return TOO_DEEP
  if (Array.isArray(value)) return value.map((item) => cutDepth(item, depth - 1))
  const copy: Record<string, unknown> = {}
  // Defined, not assigned: a member named "__proto__" is data.
  for (const [key, item] of Object.entries(value))
    Object.defineProperty(copy, key, {value: cutDepth(item, depth - 1), enumerable: true, writable: true, configurable: true})
  return copy
}

/**
 * JSON.stringify that cannot throw on depth: a line may nest thousands of levels deep (JSON.parse
 * takes it), deeper than JSON.stringify can recurse; such a value is written cut at MAX_SHOWN_DEPTH.
 */
export function boundedJson(value: unknown, space?: number): string {
  try {
    return JSON.stringify(value, null, space)
  } catch (error) {
    if (!(error instanceof RangeError)) throw error
    return JSON.stringify(cutDepth(value, MAX_SHOWN_DEPTH), null, space)
  }
}

/**
 * JSON.stringify (depth-bounded), with the characters it leaves raw that a terminal or a reader
 * would act on (DEL, C1 controls such as the one-byte CSI, line/paragraph separators, bidi overrides,
 * invisible format characters) written as `\uXXXX` escapes: the same JSON value, safe to print.
 * (C0 controls it escapes already.)
 */
export function safeJson(value: unknown, space?: number): string {
  return boundedJson(value, space).replace(JSON_UNSAFE, jsonEscape)
}

/**
 * Log content must never drive the terminal. This removes ANSI/VT escape sequences (CSI, OSC, DCS,
 * and two-byte ESC forms), C0 and C1 control characters and DEL, and the Unicode bidirectional
 * overrides that can make text display in another order than it is stored.
 */
// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]|\x1b[\]PX^_][\s\S]*?(?:\x07|\x1b\\|$)|\x9b[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]|\x1b[\x20-\x7e]?/g
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g
// eslint-disable-next-line no-control-regex
const CONTROLS_BUT_CR = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g
// eslint-disable-next-line no-control-regex
const ANY_UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/

/**
 * Strips escape sequences and control characters; keeps tab and newline, and carriage return when
 * asked (a CSV cell's CRLF is data, quoted).
 */
export function sanitizeText(text: string, keepCarriageReturn = false): string {
  if (!ANY_UNSAFE.test(text)) return text
  return text.replace(ESCAPES, '').replace(keepCarriageReturn ? CONTROLS_BUT_CR : CONTROLS, '')
}

/** As sanitizeText, and also folds newlines and tabs to spaces, for one-line fields. */
export function sanitizeLine(text: string): string {
  return sanitizeText(text).replace(/[\t\n]/g, ' ')
}

// eslint-disable-next-line no-control-regex
const JSON_UNSAFE = /[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

/**
 * JSON.stringify, with the characters it leaves raw that a terminal or a reader would act on
 * (DEL, C1 controls such as the one-byte CSI, line/paragraph separators, bidi overrides) written
 * as `\uXXXX` escapes: the same JSON value, safe to print. (C0 controls it escapes already.)
 */
export function safeJson(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

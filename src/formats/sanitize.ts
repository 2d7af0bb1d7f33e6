/**
 * Log content must never drive the terminal. This removes ANSI/VT escape sequences (CSI, OSC, DCS,
 * and two-byte ESC forms), C0 and C1 control characters and DEL, and the Unicode bidirectional
 * overrides that can make text display in another order than it is stored.
 */
// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]|\x1b[\]PX^_][\s\S]*?(?:\x07|\x1b\\|$)|\x9b[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]|\x1b[\x20-\x7e]?/g
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g
// eslint-disable-next-line no-control-regex
const ANY_UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/

/** Strips escape sequences and control characters; keeps tab and newline. */
export function sanitizeText(text: string): string {
  if (!ANY_UNSAFE.test(text)) return text
  return text.replace(ESCAPES, '').replace(CONTROLS, '')
}

/** As sanitizeText, and also folds newlines and tabs to spaces, for one-line fields. */
export function sanitizeLine(text: string): string {
  return sanitizeText(text).replace(/[\t\n]/g, ' ')
}

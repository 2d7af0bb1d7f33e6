import {writeFileSync} from 'node:fs'
import {basename} from 'node:path'

import {chainLine, GENESIS, serializeBody} from '../src/chain/native.js'
import {recoveryDetails} from '../src/store/recovery.js'

/**
 * Values for the differential fuzz tests of the canonical readers (store/decode's readCanonical,
 * summary's byte matcher) against the full decoder: the plain, the hostile and the almost-canonical.
 */

export const LEVELS = ['info', 'warning', 'error', 'debug', 'warn', 'err', 'INFO', 'Error', 'fatal', '']

export const ACTORS = [
  'alice',
  'bob',
  '',
  'ünïcødé',
  '😀',
  '😀 ok',
  'eve "the" hacker',
  'tab\there',
  'back\\slash',
  '\u001b[31mred',
  'del\u007f',
  '\u2028',
  '\ud800',
]

export const VALUES: unknown[] = [
  '10.0.0.1',
  '',
  'a"b',
  'x\\y',
  '\u00e9',
  '😀',
  '\u0000',
  1e21,
  1.5e-7,
  -0,
  0,
  42,
  -3.25,
  true,
  false,
  null,
  {nested: 1},
  [1, 2],
  [],
  {},
]

/** How writeMixedFile makes its lines. */
export interface MixedLines {
  random: () => number
  /** The i-th line of `lines`; `torn` when it will be cut in half. */
  line: (i: number, torn: boolean) => string
  /** The timestamp of the recovery record after torn line i. */
  recoveryTime: (i: number) => string
  /** The share of recovery records that claim a wrong line (drawn only when given). */
  wrongClaims?: number
  /** End the file with half a line and no LF. */
  unterminated: boolean
}

/**
 * A log file of mixed lines for the differential tests of the canonical readers against the full
 * reader: sound and bent lines, torn lines (most followed by their recovery record), bad UTF-8, blanks.
 */
export function writeMixedFile(path: string, lines: number, make: MixedLines): void {
  const {random} = make
  const parts: Buffer[] = []
  const name = basename(path)
  let lineNo = 0
  for (let i = 0; i < lines; i++) {
    const r = random()
    if (r < 0.04) {
      const whole = make.line(i, true)
      const fragment = Buffer.from(whole.slice(0, Math.max(1, Math.floor(whole.length / 2))))
      parts.push(fragment, Buffer.from('\n'))
      lineNo++
      if (random() < 0.8) {
        const wrongLine = make.wrongClaims !== undefined && random() < make.wrongClaims
        const body = serializeBody({
          timestamp: make.recoveryTime(i),
          event: 'audit.recovery',
          level: 'warning',
          actor: 'auditkit',
          details: recoveryDetails(name, wrongLine ? lineNo + 5 : lineNo, fragment),
          metadata: {},
        })
        parts.push(Buffer.from(`${chainLine(body, GENESIS).line}\n`))
        lineNo++
      }
    } else if (r < 0.05) {
      parts.push(Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]))
      lineNo++
    } else if (r < 0.06) {
      parts.push(Buffer.from('   \n'))
      lineNo++
    } else {
      parts.push(Buffer.from(`${make.line(i, false)}\n`))
      lineNo++
    }
  }
  if (make.unterminated) parts.push(Buffer.from('{"timestamp":"2026-11-02T1'))
  writeFileSync(path, Buffer.concat(parts), {mode: 0o600})
}

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

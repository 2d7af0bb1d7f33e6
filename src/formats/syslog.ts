import {z} from 'zod'

import {globToRegExp} from '../events/filter.js'
import type {AuditEntry, Level} from '../events/model.js'
import {defineCodec} from './codec.js'
import {safeJson} from '../text/sanitize.js'

// What the three syslog codecs share: facility, severity, PRI, and header-safe text.

/** RFC 5424 Table 1 (RFC 3164 names, as logger and rsyslog spell them). */
export const FACILITIES = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  ntp: 12,
  security: 13,
  console: 14,
  solaris: 15,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
} as const

/** RFC 5424 Table 2 codes for our levels. */
export const SEVERITY: Record<Level, number> = {debug: 7, info: 6, warning: 4, error: 3}
const WARNING = 4

/** Events that go out at WARNING or above whatever their level (as loki-mode's forwarder does). */
export const DEFAULT_SECURITY_EVENTS = ['auth.fail', 'auth.token.revoke', '*.delete', 'config.change']

/** A facility by name (`local0`) or number (0–23), as a number. */
export const facilityOption = z
  .union(
    [z.enum(Object.keys(FACILITIES) as [keyof typeof FACILITIES, ...Array<keyof typeof FACILITIES>]), z.number().int().min(0).max(23)],
    {error: `expected a facility name (${Object.keys(FACILITIES).join(', ')}) or 0-23`},
  )
  .default('local0')
  .transform((value) => (typeof value === 'number' ? value : FACILITIES[value]))

/** Event globs raised to WARNING. */
export const securityEventsOption = z.array(z.string().min(1)).default(DEFAULT_SECURITY_EVENTS)

/** `<PRI>` of an entry: facility × 8 + its level's severity, at most WARNING for a security event. */
export function priority(facility: number, securityEvents: string[]): (entry: AuditEntry) => string {
  const security = securityEvents.map((glob) => globToRegExp(glob))
  // 24 facilities × 8 severities: the strings are made once.
  const pris = Array.from({length: 8}, (_, severity) => `<${facility * 8 + severity}>`)
  // Logs hold few distinct event names: each is matched against the globs once (a bounded memo).
  const isSecurity = new Map<string, boolean>()
  return (entry) => {
    let severity = SEVERITY[entry.level] ?? SEVERITY.info
    if (severity > WARNING) {
      let raise = isSecurity.get(entry.event)
      if (raise === undefined) {
        raise = security.some((re) => re.test(entry.event))
        if (isSecurity.size < 4096) isSecurity.set(entry.event, raise)
      }
      if (raise) severity = WARNING
    }
    return pris[severity]
  }
}

const NOT_PRINTUSASCII = /[^\x21-\x7e]/g

/** headerField with a one-value memo: a log's entries mostly share their host and pid. */
export function memoHeaderField(max: number): (value: unknown) => string {
  let last: unknown
  let field = '-'
  return (value) => {
    if (value !== last || field === '-') {
      last = value
      field = headerField(value, max)
    }
    return field
  }
}

/**
 * A header field: PRINTUSASCII (%d33-126) only, other characters as `_`, at most `max` characters;
 * NILVALUE `-` when empty or absent. So no space can shift the header's fields and no control
 * character can split a message.
 */
export function headerField(value: unknown, max: number): string {
  if (value === undefined || value === null) return '-'
  const text = String(value).replace(NOT_PRINTUSASCII, '_').slice(0, max)
  return text === '' ? '-' : text
}

const syslogOptions = z.strictObject({
  facility: facilityOption,
  securityEvents: securityEventsOption,
})

/**
 * `<PRI>` and a body (the event name, then the entry's JSON) one per line, for
 * `logger --prio-prefix`, which writes its own header. Every line carries its PRI: logger gives a
 * line without one the previous line's priority.
 */
export const syslogCodec = defineCodec({
  name: 'syslog',
  summary: "<PRI> and the entry's JSON a line, for logger --prio-prefix",
  options: syslogOptions,
  framing: 'newline',
  mediaType: 'text/plain',
  extension: 'log',
  create(options: z.output<typeof syslogOptions>) {
    const pri = priority(options.facility, options.securityEvents)
    return {encode: ({entry}) => `${pri(entry)}${headerField(entry.event, 255)} ${safeJson(entry)}`}
  },
})

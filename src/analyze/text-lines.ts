import type {Level} from '../events/model.js'

/** A plain text log line (syslog or nginx) read as something the detectors understand. */
export interface TextRecord {
  time: number
  event: string
  level: Level
  actor: string
  ip?: string
  failure: boolean
  message: string
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']
const SEVERITY_LEVEL: Level[] = ['error', 'error', 'error', 'error', 'warning', 'info', 'info', 'debug']

// nginx/Apache combined: IP - user [30/Nov/2026:10:00:00 +0000] "GET /x HTTP/1.1" 401 123 "ref" "ua"
const COMBINED = /^(\S+) \S+ (\S+) \[(\d{2})\/(\w{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-]\d{4})\] "([^"]*)" (\d{3}) /
// RFC 5424: <PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG
const RFC5424 = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) \S+ \S+ (?:-|\[.*?\]) ?(.*)$/
// RFC 3164: <PRI>Mmm dd hh:mm:ss HOST TAG[pid]: MSG (PRI optional, as in /var/log/syslog)
const RFC3164 = /^(?:<(\d{1,3})>)?(\w{3}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\S+) ([^:[\s]+)(?:\[\d+\])?: ?(.*)$/
// An ISO timestamp first, the rest a message.
const ISO_FIRST = /^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?) (.*)$/

const SSH_FAIL = /(?:Failed (?:password|publickey) for (?:invalid user )?|Invalid user )(\S+) from (\S+)/
const SSH_OK = /Accepted \S+ for (\S+) from (\S+)/
const FAILURE_WORDS = /\b(fail(?:ed|ure)?|denied|error|refused|invalid|unauthori[sz]ed|forbidden)\b/i
const IPV4 = /\b(\d{1,3}(?:\.\d{1,3}){3})\b/

/** Parses one line; undefined when no known form gives it a time. `now` fixes the year of RFC 3164 stamps. */
export function parseTextLine(text: string, now: number): TextRecord | undefined {
  let m = COMBINED.exec(text)
  if (m) {
    const [, ip, user, day, mon, year, hh, mm, ss, zone, request, statusText] = m
    const month = MONTHS.indexOf(mon.toLowerCase())
    if (month < 0) return undefined
    const offset = (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3))) * 60_000
    const time = Date.UTC(Number(year), month, Number(day), Number(hh), Number(mm), Number(ss)) - offset
    const status = Number(statusText)
    const event = status === 401 || status === 403 ? 'http.unauthorized' : status >= 500 ? 'http.error' : 'http.request'
    return {
      time,
      event,
      level: status >= 500 ? 'error' : status >= 400 ? 'warning' : 'info',
      actor: user === '-' ? ip : user,
      ip,
      failure: status >= 400,
      message: `${request} ${status}`,
    }
  }
  m = RFC5424.exec(text)
  if (m) {
    const time = Date.parse(m[2])
    if (Number.isNaN(time)) return undefined
    return fromMessage(time, Number(m[1]) & 7, m[4], m[5])
  }
  m = RFC3164.exec(text)
  if (m) {
    const month = MONTHS.indexOf(m[2].toLowerCase())
    if (month < 0) return undefined
    const year = new Date(now).getUTCFullYear()
    let time = Date.UTC(year, month, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))
    // No year in the stamp: a date ahead of now is last year's.
    if (time > now + 86_400_000) time = Date.UTC(year - 1, month, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))
    return fromMessage(time, m[1] === undefined ? undefined : Number(m[1]) & 7, m[8], m[9])
  }
  m = ISO_FIRST.exec(text)
  if (m) {
    const time = Date.parse(m[1].replace(' ', 'T'))
    if (Number.isNaN(time)) return undefined
    return fromMessage(time, undefined, 'log', m[2])
  }
  return undefined
}

function fromMessage(time: number, severity: number | undefined, program: string, message: string): TextRecord {
  const app = program.toLowerCase().replace(/[^a-z0-9_-]+/g, '_') || 'log'
  let m = SSH_FAIL.exec(message)
  if (m) return {time, event: 'auth.fail', level: 'warning', actor: m[1], ip: m[2], failure: true, message}
  m = SSH_OK.exec(message)
  if (m) return {time, event: 'auth.login', level: 'info', actor: m[1], ip: m[2], failure: false, message}
  const failure = (severity !== undefined && severity <= 3) || FAILURE_WORDS.test(message)
  const level: Level = severity !== undefined ? SEVERITY_LEVEL[severity] : failure ? 'warning' : 'info'
  return {time, event: `syslog.${app}`, level, actor: app, ip: IPV4.exec(message)?.[1], failure, message}
}

/** The message with its variable parts (numbers, addresses, ids) folded, so lines of one template share a key. */
export function messageTemplate(message: string): string {
  return message
    .replace(/\b\d{1,3}(?:\.\d{1,3}){3}\b/g, '<ip>')
    .replace(/\b[0-9a-f]{8,}\b/gi, '<hex>')
    .replace(/\d+/g, '#')
    .slice(0, 160)
}

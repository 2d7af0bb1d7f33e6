import {z} from 'zod'

import type {AuditEntry} from '../events/model.js'
import {defineCodec} from './codec.js'
import {safeJson} from '../text/sanitize.js'
import {facilityOption, headerField, priority, securityEventsOption} from './syslog.js'

/** RFC 3164 §4.1: a whole packet is at most 1024 bytes. */
export const RFC3164_MAX_BYTES = 1024
const TRUNCATED = ' [truncated]'

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const two = (n: number) => (n < 10 ? `0${n}` : String(n))

/** `Mmm dd hh:mm:ss`, the day padded with a space (`Aug  7`); UTC unless `local`. */
export function bsdTimestamp(time: number, local = false): string {
  const d = new Date(time)
  const [month, day, h, m, s] = local
    ? [d.getMonth(), d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()]
    : [d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
  return `${MONTHS[month]} ${day < 10 ? ` ${day}` : day} ${two(h)}:${two(m)}:${two(s)}`
}

/** The longest prefix of `text` of at most `limit` UTF-8 bytes that ends on a character boundary. */
export function truncateUtf8(text: string, limit: number): string {
  const bytes = Buffer.from(text)
  if (bytes.length <= limit) return text
  let end = limit
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--
  return bytes.subarray(0, end).toString()
}

const rfc3164Options = z.strictObject({
  facility: facilityOption,
  securityEvents: securityEventsOption,
  /** The TAG: alphanumeric, at most 32 characters. */
  tag: z
    .string()
    .regex(/^[A-Za-z0-9]{1,32}$/, {error: 'expected 1-32 letters and digits'})
    .default('auditkit'),
})

/** The entry with what matters most first, since a long one is cut at its end (RFC 5424 §8.3 advice). */
function importantFirst(entry: AuditEntry): Record<string, unknown> {
  const {event, level, actor, chain_hash: chainHash, timestamp, details, metadata} = entry
  return {event, level, actor, chain_hash: chainHash, timestamp, details, metadata}
}

/**
 * BSD syslog (RFC 3164): `<PRI>Mmm dd hh:mm:ss HOST TAG[pid]: {json}`, the host without its
 * domain, the time in UTC (`--local`: local time, as classic syslogd); a line over 1024 bytes
 * is cut at a character boundary and marked ` [truncated]`.
 */
export const rfc3164Codec = defineCodec({
  name: 'rfc3164',
  summary: 'BSD syslog lines (RFC 3164), at most 1024 bytes, truncation marked',
  options: rfc3164Options,
  framing: 'newline',
  mediaType: 'text/plain',
  extension: 'log',
  create(options: z.output<typeof rfc3164Options>, context) {
    const pri = priority(options.facility, options.securityEvents)
    return {
      encode({entry, time}) {
        const host =
          typeof entry.metadata.hostname === 'string' && !/^[\d.]+$|:/.test(entry.metadata.hostname)
            ? entry.metadata.hostname.split('.', 1)[0]
            : entry.metadata.hostname
        const pid = Number.isSafeInteger(entry.metadata.pid) ? `[${entry.metadata.pid as number}]` : ''
        const line = `${pri(entry)}${bsdTimestamp(time, context.local)} ${headerField(host, 255)} ${options.tag}${pid}: ${safeJson(importantFirst(entry))}`
        if (Buffer.byteLength(line) <= RFC3164_MAX_BYTES) return line
        return truncateUtf8(line, RFC3164_MAX_BYTES - TRUNCATED.length) + TRUNCATED
      },
    }
  },
})

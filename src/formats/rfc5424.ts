import {z} from 'zod'

import type {AuditEntry} from '../events/model.js'
import {defineCodec} from './codec.js'
import {safeJson, sanitizeLine} from '../text/sanitize.js'
import {facilityOption, headerField, memoHeaderField, priority, securityEventsOption} from './syslog.js'

/** SD-NAME: 1–32 PRINTUSASCII but `=`, SP, `]`, `"`; a private SD-ID also has `@` and an enterprise number. */
const SD_ID = /^[\x21-\x7e]{1,32}$/

const rfc5424Options = z.strictObject({
  facility: facilityOption,
  securityEvents: securityEventsOption,
  /** APP-NAME (at most 48 printable ASCII characters). */
  appName: z
    .string()
    .regex(/^[\x21-\x7e]{1,48}$/, {error: 'expected 1-48 printable ASCII characters, no space'})
    .default('auditkit'),
  /**
   * The private SD-ID holding actor and chain hash. 32473 is RFC 5424's example enterprise number:
   * an organisation with its own IANA PEN sets `name@PEN`.
   */
  sdId: z
    .string()
    .regex(SD_ID, {error: 'expected an SD-ID of 1-32 printable ASCII characters'})
    .refine((id) => !/[= \]"]/.test(id) && /^[^@]+@\d+$/.test(id), {error: 'expected name@ENTERPRISE-NUMBER without = ] " or space'})
    .default('auditkit@32473'),
  /** Start MSG with the UTF-8 BOM (§6.4); off by default, as logger and most senders do. */
  bom: z.boolean().default(false),
})

/** PARAM-VALUE (§6.3.3): `"`, `\` and `]` escaped; control characters and escape sequences removed, line breaks folded. */
export function sdValue(text: string): string {
  return SD_PLAIN.test(text) ? text : sanitizeLine(text).replace(/["\\\]]/g, '\\$&')
}

/** A value with nothing to escape or remove (most actors, every chain hash). */
const SD_PLAIN = /^[\x20-\x21\x23-\x5b\x5e-\x7e]*$/

/** An RFC 3339 timestamp with at most 6 fractional digits (§6.2.3: 7 or more are invalid). */
export function rfc5424Timestamp(timestamp: string): string {
  // The writer's own form (milliseconds, Z) is valid as it is.
  if (timestamp.length === 24 && timestamp.charCodeAt(23) === 90) return timestamp
  return timestamp.replace(/(\.\d{6})\d+/, '$1')
}

/**
 * RFC 5424 lines: PRI (facility, severity from level), VERSION 1, the entry's own timestamp,
 * HOSTNAME from metadata.hostname, APP-NAME, PROCID from metadata.pid, MSGID the event name,
 * STRUCTURED-DATA `[sdId actor="…" chain_hash="…"]`, MSG the entry's JSON.
 */
export const rfc5424Codec = defineCodec({
  name: 'rfc5424',
  summary: 'RFC 5424 syslog lines: event name as MSGID, actor and chain hash as structured data',
  options: rfc5424Options,
  framing: 'newline',
  mediaType: 'text/plain',
  extension: 'log',
  create(options: z.output<typeof rfc5424Options>) {
    const pri = priority(options.facility, options.securityEvents)
    const app = options.appName
    const sdId = options.sdId
    const bom = options.bom ? '\ufeff' : ''
    const host = memoHeaderField(255)
    const procid = memoHeaderField(128)
    return {
      encode({entry}) {
        const {metadata} = entry
        const sd = `[${sdId} actor="${sdValue(entry.actor)}"${entry.chain_hash === undefined ? '' : ` chain_hash="${sdValue(entry.chain_hash)}"`}]`
        return `${pri(entry)}1 ${rfc5424Timestamp(entry.timestamp)} ${host(metadata.hostname)} ${app} ${procid(metadata.pid)} ${headerField(entry.event, 32)} ${sd} ${bom}${safeJson(entry)}`
      },
    }
  },
})

/**
 * An RFC 5424 header around a record of another format (CEF, LEEF, JSON…) as MSG, for sending it
 * to a syslog server (siem-formats §5 "Over syslog"): PRI from the facility and the entry's level,
 * the entry's timestamp, HOSTNAME and PROCID from its metadata, APP-NAME, MSGID the event, no
 * structured data. Without it a receiver takes the record's first word (`CEF:`) as the tag.
 */
export function rfc5424Envelope(facility: number, appName: string): (entry: AuditEntry, msg: string) => string {
  const pri = priority(facility, [])
  const host = memoHeaderField(255)
  const procid = memoHeaderField(128)
  const app = headerField(appName, 48)
  return (entry, msg) =>
    `${pri(entry)}1 ${rfc5424Timestamp(entry.timestamp)} ${host(entry.metadata.hostname)} ${app} ${procid(entry.metadata.pid)} ${headerField(entry.event, 32)} - ${msg}`
}

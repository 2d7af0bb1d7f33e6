import {z} from 'zod'

import type {AuditEntry, CanonicalLine, Level} from '../events/model.js'
import {defineCodec} from './codec.js'
import {
  actionVerdict,
  CEF_SEVERITY,
  hostOf,
  IP_KEYS,
  isIpAddress,
  type Outcome,
  outcomeByValues,
  outcomeFor,
  pidOf,
  sourceIpOf,
} from './event-class.js'
import {
  type ByteOut,
  bytesByLevel,
  LineMembers,
  MAX_RECORD_BYTES,
  putAscii,
  putBytes,
  putCefPrintable,
  putInteger,
  putPrintable,
} from './record-bytes.js'
import {boundedJson, safeJson, sanitizeLine, sanitizeText} from '../text/sanitize.js'

// ArcSight CEF (siem-formats.md §5): `CEF:0|vendor|product|version|class|name|severity|extension`.

/** Header fields: `\` and `|` escaped, no line breaks (folded to spaces), never `=` (spec §5). */
export function cefHeader(value: string, max: number): string {
  return sanitizeLine(value)
    .slice(0, max)
    .replace(/[\\|]/g, (c) => `\\${c}`)
}

/** Extension values: `\` and `=` escaped, CR and LF as `\r` and `\n`; `|` left alone (spec §5). */
export function cefValue(value: string): string {
  // Most values need nothing: one test instead of two replaces.
  if (!NEEDS_WORK.test(value)) return value
  return sanitizeText(value, true).replace(/[\\=\r\n]/g, (c) => (c === '\r' ? '\\r' : c === '\n' ? '\\n' : `\\${c}`))
}

const NEEDS_WORK = /[\\=\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/

const headerText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !/[\r\n]/.test(s), {error: 'no line breaks'})

const options = z.strictObject({
  vendor: headerText(63).default('auditkit'),
  product: headerText(63).default('auditkit'),
  version: headerText(31).default('1'),
})

/**
 * One CEF 0 line an entry: the event as class id, name and `cat`; `rt` in ms; `suser`, `act`,
 * `outcome`; details as JSON in `cs1`, the chain hash in `cs2`, each with its label.
 */
export const cefCodec = defineCodec({
  name: 'cef',
  summary: 'ArcSight CEF 0 (vendor, product, version as options)',
  options,
  framing: 'newline',
  mediaType: 'text/plain',
  extension: 'cef',
  create({vendor, product, version}) {
    const prefix = `CEF:0|${cefHeader(vendor, 63)}|${cefHeader(product, 63)}|${cefHeader(version, 31)}|`
    // An export holds few event names: each one's header and `cat`/`act` pairs are escaped once, its
    // action's outcome words and its need of escaping tested once.
    const byEvent = new Map<string, EventParts>()
    const eventParts = (event: string) => {
      let parts = byEvent.get(event)
      if (parts === undefined) {
        const name = cefHeader(event, 1023)
        parts = {
          head: `${prefix}${name}|${name}|`,
          pairs: ` cat=${cefValue(event)} act=${cefValue(event.slice(event.indexOf('.') + 1))}`,
          clean: !NEEDS_WORK.test(event),
          outcome: outcomeFor(event),
        }
        if (byEvent.size < 10_000) byEvent.set(event, parts)
      }
      return parts
    }
    return {
      encodeCanonical: (line, out) => writeCanonical(line, out, eventParts(line.event)),
      encode({entry, time}) {
        const {event, actor} = entry
        const parts = eventParts(event)
        // Text that needs no escaping stays clean when joined with a space, so msg is tested only when a part was not.
        const clean = parts.clean && !NEEDS_WORK.test(actor)
        let line = `${parts.head}${CEF_SEVERITY[entry.level]}|rt=${time}${parts.pairs} suser=${clean ? actor : cefValue(actor)} outcome=${parts.outcome(entry)}`
        const host = hostOf(entry)
        if (host) line += ` dvchost=${cefValue(host)}`
        const pid = pidOf(entry)
        if (pid !== undefined) line += ` dvcpid=${pid}`
        const ip = sourceIpOf(entry)
        if (ip && !ip.includes(':')) line += ` src=${ip}`
        line += ` msg=${clean ? `${event} by ${actor}` : cefValue(`${event} by ${actor}`)}`
        line += ` cs1Label=details cs1=${detailsValue(entry.details)}`
        if (entry.chain_hash) line += ` cs2Label=chainHash cs2=${cefValue(entry.chain_hash)}`
        return line
      },
    }
  },
})

interface EventParts {
  head: string
  pairs: string
  clean: boolean
  outcome: (entry: AuditEntry) => Outcome
  /** For writeCanonical, made on its first use: the parts as UTF-8, and what the action says of the outcome. */
  bytes?: {head: Record<Level, Buffer>; pairs: Buffer; msg: Buffer; verdict: 'failure' | boolean}
}

const ascii = (text: string) => Buffer.from(text, 'latin1')
const OUTCOME = ascii(' outcome=')
const OUTCOMES: Record<Outcome, Buffer> = {success: ascii('success'), failure: ascii('failure'), unknown: ascii('unknown')}
const DVCHOST = ascii(' dvchost=')
const DVCPID = ascii(' dvcpid=')
const SRC = ascii(' src=')
const CS1 = ascii(' cs1Label=details cs1=')
const CS2 = ascii(' cs2Label=chainHash cs2=')
/** The details and metadata members of the line being written. */
const MEMBERS = new LineMembers()

/**
 * The encoder's record of a line in the writer's exact form, as bytes (Encoder.encodeCanonical).
 * Printable ASCII needs no escaping but `=` and `\` (cefValue), and its details' JSON is the text
 * as written when JSON.stringify would give it back.
 */
function writeCanonical(line: CanonicalLine, out: ByteOut, parts: EventParts): boolean {
  const {actor, details, metadata} = line
  if (!parts.clean) return false
  if (!MEMBERS.scan(details, metadata)) return false
  if (parts.bytes === undefined) {
    const event = line.event
    parts.bytes = {
      head: bytesByLevel((level) => `${parts.head}${CEF_SEVERITY[level]}|rt=`),
      pairs: Buffer.from(`${parts.pairs} suser=`),
      msg: Buffer.from(` msg=${event} by `),
      verdict: actionVerdict(event),
    }
  }
  const {head, pairs, msg, verdict} = parts.bytes
  // Every character below is one byte, or two escaped.
  const most = head.info.length + pairs.length + msg.length + 4 * actor.length + 3 * (details.length + metadata.length) + 256
  if (most > MAX_RECORD_BYTES) return false
  out.reserve(most)
  const buf = out.buf
  let p = putInteger(buf, putBytes(buf, out.pos, head[line.level]), line.time)
  p = putCefPrintable(buf, putBytes(buf, p, pairs), actor)
  if (p < 0) return false
  const outcome =
    verdict === 'failure' ? 'failure' : outcomeByValues(MEMBERS.detail('success'), MEMBERS.detail('status'), line.level, verdict)
  p = putBytes(buf, putBytes(buf, p, OUTCOME), OUTCOMES[outcome])
  if (MEMBERS.hostnameStart >= 0) {
    p = putCefPrintable(buf, putBytes(buf, p, DVCHOST), metadata, MEMBERS.hostnameStart, MEMBERS.hostnameEnd)
    if (p < 0) return false
  }
  const pid = MEMBERS.meta('pid')
  if (Number.isSafeInteger(pid)) p = putInteger(buf, putBytes(buf, p, DVCPID), pid as number)
  for (const key of IP_KEYS) {
    const ip = MEMBERS.detail(key)
    if (!isIpAddress(ip)) continue
    if (!ip.includes(':')) p = putPrintable(buf, putBytes(buf, p, SRC), ip)
    if (p < 0) return false
    break
  }
  p = putCefPrintable(buf, putBytes(buf, p, msg), actor)
  p = putCefPrintable(buf, putBytes(buf, p, CS1), details)
  if (p < 0) return false
  if (line.chainHash !== undefined) p = putAscii(buf, putBytes(buf, p, CS2), line.chainHash)
  out.pos = p
  return true
}

/** cefValue(safeJson(details)), with one test for the common case where neither changes anything. */
function detailsValue(details: Record<string, unknown>): string {
  const json = boundedJson(details)
  return JSON_OR_CEF_WORK.test(json) ? cefValue(safeJson(details)) : json
}

/** Anything but printable ASCII less `=` and `\\`: a superset of what safeJson or cefValue would change. */
const JSON_OR_CEF_WORK = /[^\x20-\x3c\x3e-\x5b\x5d-\x7e]/

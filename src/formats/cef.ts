import {z} from 'zod'

import {defineCodec} from './codec.js'
import {CEF_SEVERITY, hostOf, outcomeOf, pidOf, sourceIpOf} from './event-class.js'
import {safeJson, sanitizeLine, sanitizeText} from '../text/sanitize.js'

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
    return {
      encode({entry, time}) {
        const event = cefHeader(entry.event, 1023)
        const pairs = [
          `rt=${time}`,
          `cat=${cefValue(entry.event)}`,
          `act=${cefValue(entry.event.slice(entry.event.indexOf('.') + 1))}`,
          `suser=${cefValue(entry.actor)}`,
          `outcome=${outcomeOf(entry)}`,
        ]
        const host = hostOf(entry)
        if (host) pairs.push(`dvchost=${cefValue(host)}`)
        const pid = pidOf(entry)
        if (pid !== undefined) pairs.push(`dvcpid=${pid}`)
        const ip = sourceIpOf(entry)
        if (ip && !ip.includes(':')) pairs.push(`src=${ip}`)
        pairs.push(`msg=${cefValue(`${entry.event} by ${entry.actor}`)}`)
        pairs.push(`cs1Label=details cs1=${cefValue(safeJson(entry.details))}`)
        if (entry.chain_hash) pairs.push(`cs2Label=chainHash cs2=${cefValue(entry.chain_hash)}`)
        return `${prefix}${event}|${event}|${CEF_SEVERITY[entry.level]}|${pairs.join(' ')}`
      },
    }
  },
})

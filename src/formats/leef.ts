import {z} from 'zod'

import {defineCodec} from './codec.js'
import {CEF_SEVERITY, outcomeOf, sourceIpOf} from './event-class.js'
import {safeJson, sanitizeLine} from '../text/sanitize.js'

// IBM QRadar LEEF 2.0 (siem-formats.md §6): `LEEF:2.0|vendor|product|version|eventID|delimiter|attrs`.
// LEEF defines no escaping, so the delimiter and line breaks are removed from values, `|` from header fields.

/** The delimiter as declared in the header: itself when printable and not `|`, else `xHH`. */
export function declaredDelimiter(delimiter: string): string {
  return /^[\x21-\x7b\x7d\x7e]$/.test(delimiter) ? delimiter : `x${delimiter.charCodeAt(0).toString(16).padStart(2, '0')}`
}

/** A header field: one line, no `|`. */
export function leefHeader(value: string, max = 255): string {
  return sanitizeLine(value).replace(/\|/g, '').slice(0, max)
}

/** A value: one line (tabs and line breaks folded to spaces), without the delimiter. */
export function leefValue(value: string, delimiter: string): string {
  return sanitizeLine(value).split(delimiter).join('')
}

const text = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !/[\r\n|]/.test(s), {error: 'no line breaks or |'})

const options = z.strictObject({
  vendor: text(255).default('auditkit'),
  product: text(255).default('auditkit'),
  version: text(255).default('1'),
  // One character; tab is LEEF's default. Not `=`, `|`, a line break or a character that would be stripped anyway.
  delimiter: z
    .string()
    .length(1)
    .refine((d) => /^[\t\x21-\x3c\x3e-\x7b\x7d\x7e]$/.test(d), {error: 'one printable character other than = and |, or a tab'})
    .default('\t'),
})

/** One LEEF 2.0 line an entry: `devTime` in ms (no format needed), `usrName`, `sev` 1–10, `cat` success/failure. */
export const leefCodec = defineCodec({
  name: 'leef',
  summary: 'IBM QRadar LEEF 2.0 with a declared delimiter (tab by default)',
  options,
  framing: 'newline',
  mediaType: 'text/plain',
  extension: 'leef',
  create({vendor, product, version, delimiter}) {
    const prefix = `LEEF:2.0|${leefHeader(vendor)}|${leefHeader(product)}|${leefHeader(version)}|`
    const declared = `|${declaredDelimiter(delimiter)}|`
    const value = (v: string) => leefValue(v, delimiter)
    return {
      encode({entry, time}) {
        const pairs = [
          `devTime=${time}`,
          `usrName=${value(entry.actor)}`,
          `sev=${CEF_SEVERITY[entry.level]}`,
          `cat=${outcomeOf(entry)}`,
          `level=${entry.level}`,
        ]
        const ip = sourceIpOf(entry)
        if (ip) pairs.push(`src=${ip}`)
        pairs.push(`details=${value(safeJson(entry.details))}`)
        if (entry.chain_hash) pairs.push(`chainHash=${value(entry.chain_hash)}`)
        return `${prefix}${leefHeader(entry.event)}${declared}${pairs.join(delimiter)}`
      },
    }
  },
})

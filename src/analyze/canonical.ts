import type {Level} from '../events/model.js'
import {groupKey} from '../privacy/sealed-form.js'
import type {CanonicalHead} from '../store/decode.js'
import {IP_FIELDS, isFailedAction, ownCopy} from '../summary/aggregate.js'
import {messageTemplate} from './text-lines.js'

/**
 * What analyze reads of a canonical audit line (store/decode's readCanonical), without decoding it
 * in full: used on the main thread (sources.ts) and in the block readers' workers (block-rows.ts).
 */

/** What analyze reads from an entry's details. */
export interface DetailFields {
  /** The first IP-address field (IP_FIELDS order) holding a non-empty string. */
  ip: string | undefined
  model: string | undefined
  reason: string | undefined
}

/** A member's value as far as analyze cares: absent, null, a string, or some other value. */
const OTHER = true
type Member = undefined | null | string | typeof OTHER
/** The details members analyze reads: the IP fields (in IP_FIELDS order), then these. */
const WANTED = [...IP_FIELDS, 'model', 'error', 'reason', 'message']
const MODEL = IP_FIELDS.length
const [ERROR, REASON, MESSAGE] = [MODEL + 1, MODEL + 2, MODEL + 3]
/** The wanted keys (with their closing quote) and their slots, by the key's first character. */
const WANTED_BY_FIRST: Array<Array<{key: string; slot: number}>> = Array.from({length: 128}, () => [])
for (const [slot, key] of WANTED.entries()) WANTED_BY_FIRST[key.charCodeAt(0)].push({key: `${key}"`, slot})
/** One call's member values, reused: the last of duplicate members wins. */
const members: Member[] = new Array(WANTED.length)

/**
 * detailFields of a canonical details text (flat, no escapes, checked by readCanonical), read in
 * place: JSON.parse would build an object for three fields.
 */
export function canonicalDetailFields(text: string): DetailFields {
  members.fill(undefined)
  // At each member: `"key":value` then `,` or the closing `}`; a string has no escapes, so `"` ends it.
  for (let at = 1; at < text.length - 1; ) {
    const keyEnd = text.indexOf('"', at + 1)
    let slot = -1
    for (const wanted of WANTED_BY_FIRST[text.charCodeAt(at + 1)] ?? [])
      if (keyEnd - at === wanted.key.length && text.startsWith(wanted.key, at + 1)) slot = wanted.slot
    const valueAt = keyEnd + 2
    if (text.charCodeAt(valueAt) === 0x22 /* " */) {
      const valueEnd = text.indexOf('"', valueAt + 1)
      if (slot >= 0) members[slot] = text.slice(valueAt + 1, valueEnd)
      at = valueEnd + 2
    } else {
      if (slot >= 0) members[slot] = text.startsWith('null', valueAt) ? null : OTHER
      at = valueAt
      for (let c = text.charCodeAt(at); c !== 0x2c /* , */ && c !== 0x7d /* } */; c = text.charCodeAt(++at));
      at++
    }
  }
  let ip: string | undefined
  for (let slot = 0; slot < MODEL; slot++) {
    const value = members[slot]
    if (typeof value === 'string' && value !== '') {
      ip = value
      break
    }
  }
  const model = members[MODEL]
  const given = members[ERROR] ?? members[REASON] ?? members[MESSAGE]
  return {ip, model: typeof model === 'string' && model !== '' ? model : undefined, reason: typeof given === 'string' ? given : undefined}
}

/** The fields of a canonical line the detectors see (sealed values grouped by their blind index). */
export interface CanonicalFields {
  actor: string
  ip: string | undefined
  model: string | undefined
  reason: string | undefined
  failure: boolean
}

export function canonicalFields(canonical: CanonicalHead): CanonicalFields {
  const {event, level, actor} = canonical
  const {ip, model, reason} = canonicalDetailFields(canonical.details)
  return {actor: groupKey(actor), ip: ip && groupKey(ip), model, reason, failure: level === 'error' || isFailedAction(event)}
}

/** Message templates by message: a log repeats its messages (bounded; a hostile log may not). */
const reasonTemplates = new Map<string, string>()

function reasonTemplate(reason: string): string {
  let template = reasonTemplates.get(reason)
  if (template === undefined) {
    if (reasonTemplates.size >= 10_000) reasonTemplates.clear()
    template = ownCopy(messageTemplate(reason))
    reasonTemplates.set(ownCopy(reason), template)
  }
  return template
}

/** The template of an audit entry: its event, level and message template (sources.ts's templateOf). */
export function entryTemplate(event: string, level: Level, reason: string | undefined): string {
  return `${event}|${level}|${reason === undefined ? '' : reasonTemplate(reason)}`
}

import {createReadStream} from 'node:fs'
import {basename} from 'node:path'
import {createInterface} from 'node:readline'

import {compileFilter, type FilterSpec} from '../events/filter.js'
import {type AuditEntry, type LocatedEntry, MAX_LINE_BYTES, type Profile} from '../events/model.js'
import {groupKey} from '../privacy/sealed-form.js'
import {type CanonicalLine, decodeLine, readCanonical} from '../store/decode.js'
import type {Diagnostics} from '../store/diagnostics.js'
import {listLogFiles, openRegularSync} from '../store/files.js'
import {queryEntries} from '../store/query.js'
import {type DecodeState, decodeBatch, readFileLines, settleHeld} from '../store/reader.js'
import {isFailure, IP_FIELDS} from '../summary/aggregate.js'
import type {Observation} from './observation.js'
import {messageTemplate, parseTextLine, type TextRecord} from './text-lines.js'

/** One entry of any source: what the detectors see, and what the LLM sample may show (derived only when needed). */
export interface SourceItem extends Omit<Observation, 'baseline'> {
  /** The audit entry, decoded in full (see entryOf), or the text line read as one. */
  entry?: AuditEntry
  /** An audit entry's message (details.error, reason or message, the first given, when a string): its template groups it. */
  reason?: string
  /** A canonical audit line, decoded in full only when the entry is asked for. */
  raw?: string
  record?: TextRecord
}

export const SAMPLE_TEXT_CHARS = 400

/** Audit log entries in the filter's range (with the baseline before it), in chain order, in batches. */
export async function* logItems(
  dir: string,
  filter: FilterSpec,
  profile: Profile | undefined,
  diagnostics: Diagnostics,
): AsyncGenerator<SourceItem[]> {
  const {since, until, ...others} = filter
  const timeOnly = Object.values(others).every((value) => value === undefined || (Array.isArray(value) && value.length === 0))
  if (!timeOnly || profile === 'loki') {
    yield* searchedItems(dir, filter, profile, diagnostics)
    return
  }
  // Only a time range: canonical lines are read by position, every other line by the reader's decoder.
  const read = {filter: compileFilter({since, until}), profile}
  for (const file of await listLogFiles(dir, {since, until})) {
    const name = basename(file.path)
    const state: DecodeState = {}
    for await (const lines of readFileLines(file, diagnostics)) {
      const items: SourceItem[] = []
      for (const raw of lines) {
        const canonical = raw.bytes ? undefined : readCanonical(raw.text)
        if (canonical === undefined) {
          for (const located of decodeBatch(file.path, [raw], read, diagnostics, state))
            items.push(fromEntry(located.entry, located.time, name, located.line))
          continue
        }
        if (state.held) settleHeld(state, raw, profile, diagnostics)
        const {time} = canonical
        if ((since === undefined || time >= since) && (until === undefined || time < until))
          items.push(fromCanonical(canonical, raw.text, name, raw.line))
      }
      if (items.length > 0) yield items
    }
    settleHeld(state, undefined, profile, diagnostics)
  }
}

/** Entries through the search reader, for any filter. */
async function* searchedItems(
  dir: string,
  filter: FilterSpec,
  profile: Profile | undefined,
  diagnostics: Diagnostics,
): AsyncGenerator<SourceItem[]> {
  const names = new Map<string, string>()
  for await (const batch of queryEntries(dir, {filter, profile, diagnostics})) {
    const items: SourceItem[] = new Array(batch.length)
    for (let i = 0; i < batch.length; i++) {
      const located = batch[i]
      let name = names.get(located.file)
      if (name === undefined) names.set(located.file, (name = basename(located.file)))
      items[i] = fromEntry(located.entry, located.time, name, located.line)
    }
    yield items
  }
}

/** What analyze reads from an entry's details. */
interface DetailFields {
  /** The first IP-address field (IP_FIELDS order) holding a non-empty string. */
  ip: string | undefined
  model: string | undefined
  reason: string | undefined
}

function detailFields(details: Record<string, unknown>): DetailFields {
  let ip: string | undefined
  for (const field of IP_FIELDS) {
    const value = details[field]
    if (typeof value === 'string' && value !== '') {
      ip = groupKey(value)
      break
    }
  }
  const model = typeof details.model === 'string' && details.model !== '' ? details.model : undefined
  const reason = details.error ?? details.reason ?? details.message
  return {ip, model, reason: typeof reason === 'string' ? reason : undefined}
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
function canonicalDetailFields(text: string): DetailFields {
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

function fromEntry(entry: AuditEntry, time: number, file: string, line: number): SourceItem {
  const {ip, model, reason} = detailFields(entry.details)
  // Sealed privacy values (config privacy.fields) are grouped by their blind index.
  return {
    time,
    event: entry.event,
    level: entry.level,
    actor: groupKey(entry.actor),
    ip,
    model,
    failure: isFailure(entry),
    file,
    line,
    entry,
    reason,
  }
}

/** Whether an event's action is a failure, by event name (few distinct ones; bounded all the same). */
const failedEvents = new Map<string, boolean>()

function fromCanonical(canonical: CanonicalLine, raw: string, file: string, line: number): SourceItem {
  const {time, event, level, actor} = canonical
  const {ip, model, reason} = canonicalDetailFields(canonical.details)
  let failedEvent = failedEvents.get(event)
  if (failedEvent === undefined) {
    if (failedEvents.size >= 10_000) failedEvents.clear()
    failedEvent = isFailure({timestamp: canonical.timestamp, event, level: 'info', actor, details: {}, metadata: {}})
    failedEvents.set(event, failedEvent)
  }
  const failure = level === 'error' || failedEvent
  return {time, event, level, actor: groupKey(actor), ip: ip && groupKey(ip), model, failure, file, line, reason, raw}
}

/** The item's audit entry, decoded in full the first time it is asked for (the LLM sample, --redact). */
function entryOf(item: SourceItem): AuditEntry | undefined {
  if (item.entry === undefined && item.raw !== undefined) {
    const decoded = decodeLine(item.raw)
    if (decoded.ok) item.entry = decoded.entry
  }
  return item.entry
}

/** Message templates by message: a log repeats its messages (bounded; a hostile log may not). */
const reasonTemplates = new Map<string, string>()

function reasonTemplate(reason: string): string {
  let template = reasonTemplates.get(reason)
  if (template === undefined) {
    if (reasonTemplates.size >= 10_000) reasonTemplates.clear()
    template = messageTemplate(reason)
    reasonTemplates.set(reason, template)
  }
  return template
}

/** Groups entries that say the same thing (one sample each). */
export function templateOf(item: SourceItem): string {
  if (item.record) return `${item.event}|${messageTemplate(item.record.message)}`
  return `${item.event}|${item.level}|${item.reason === undefined ? '' : reasonTemplate(item.reason)}`
}

/** A short text of the entry for the LLM. */
export function sampleText(item: SourceItem): string {
  if (item.record)
    return `${new Date(item.time).toISOString()} ${item.event} ${item.actor}: ${item.record.message}`.slice(0, SAMPLE_TEXT_CHARS)
  const {chain_hash: _, metadata: __, ...shown} = entryOf(item)!
  return JSON.stringify(shown).slice(0, SAMPLE_TEXT_CHARS)
}

/** The value at a --redact path (`actor`, `details.ip`; for text lines also `ip`, `message`). */
export function fieldOf(item: SourceItem, path: string): unknown {
  if (item.record)
    return (
      {actor: item.record.actor, ip: item.record.ip, message: item.record.message, event: item.record.event} as Record<string, unknown>
    )[path.replace(/^details\./, '')]
  return readPath(entryOf(item), path)
}

function readPath(object: unknown, path: string): unknown {
  let value: unknown = object
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined
    value = (value as Record<string, unknown>)[key]
  }
  return value
}

function fromText(record: TextRecord, file: string, line: number): SourceItem {
  return {
    time: record.time,
    event: record.event,
    level: record.level,
    actor: record.actor,
    ip: record.ip,
    failure: record.failure,
    file,
    line,
    record,
  }
}

/** A line of text (an audit JSON entry or a syslog/nginx line) as an item; undefined when unreadable. */
export function itemFromLine(text: string, file: string, line: number, now: number): SourceItem | undefined {
  if (text.startsWith('{')) {
    const decoded = decodeLine(text)
    if (decoded.ok) return fromEntry(decoded.entry, decoded.time, file, line)
  }
  const record = parseTextLine(text, now)
  return record && fromText(record, file, line)
}

/** Plain text lines from a file or standard input (`-`); lines with no readable time are counted. */
export async function* textItems(path: string, filter: FilterSpec, now: number, diagnostics: Diagnostics): AsyncGenerator<SourceItem[]> {
  const name = path === '-' ? '-' : basename(path)
  // openRegularSync refuses FIFOs' cousins that would hang and devices; a named file that is missing is the user's error.
  const input = path === '-' ? process.stdin : createReadStream(path, {fd: openRegularSync(path)})
  const lines = createInterface({input, crlfDelay: Number.POSITIVE_INFINITY})
  const test = compileFilter({...filter, since: undefined, until: undefined})
  let lineNo = 0
  for await (const text of lines) {
    lineNo++
    if (text.trim() === '') continue
    if (text.length > MAX_LINE_BYTES) {
      diagnostics.report({kind: 'too-long', file: name, line: lineNo, reason: `${text.length} characters`})
      continue
    }
    const item = itemFromLine(text, name, lineNo, now)
    if (!item) {
      diagnostics.report({kind: 'malformed', file: name, line: lineNo, reason: 'no syslog, nginx or audit form with a time'})
      continue
    }
    if ((filter.since !== undefined && item.time < filter.since) || (filter.until !== undefined && item.time >= filter.until)) continue
    if (!matchesText(test, item, text)) continue
    yield [item]
  }
}

/** The search filters on a text item, through the entry form the filter knows. */
function matchesText(test: ReturnType<typeof compileFilter>, item: SourceItem, raw: string): boolean {
  const entry: AuditEntry = {
    timestamp: new Date(item.time).toISOString(),
    event: item.event,
    level: item.level,
    actor: item.actor,
    details: item.ip ? {ip: item.ip} : {},
    metadata: {},
  }
  const located: LocatedEntry = {entry, time: item.time, file: item.file, line: item.line, raw, profile: 'native'}
  return test.matches(located)
}

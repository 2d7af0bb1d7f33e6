import {createReadStream} from 'node:fs'
import {basename} from 'node:path'
import {createInterface} from 'node:readline'

import {type CompiledFilter, compileFilter, type FilterSpec} from '../events/filter.js'
import {type AuditEntry, type CanonicalLine, type LocatedEntry, MAX_LINE_BYTES, type Profile} from '../events/model.js'
import {groupKey} from '../privacy/sealed-form.js'
import {decodeLine, readCanonical} from '../store/decode.js'
import type {Diagnostics} from '../store/diagnostics.js'
import {listLogFiles, openRegularSync} from '../store/files.js'
import {queryEntries} from '../store/query.js'
import {type DecodeState, decodeBatch, type RawLine, readFileLines, settleHeld} from '../store/reader.js'
import {isFailure, IP_FIELDS} from '../summary/aggregate.js'
import {canonicalFields, type DetailFields, entryTemplate} from './canonical.js'
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

/** Whether a filter gives only a time range. */
export function timeOnly(filter: FilterSpec): boolean {
  const {since: _, until: __, ...others} = filter
  return Object.values(others).every((value) => value === undefined || (Array.isArray(value) && value.length === 0))
}

/** Audit log entries in the filter's range (with the baseline before it), in chain order, in batches. */
export async function* logItems(
  dir: string,
  filter: FilterSpec,
  profile: Profile | undefined,
  diagnostics: Diagnostics,
): AsyncGenerator<SourceItem[]> {
  const {since, until} = filter
  if (!timeOnly(filter) || profile === 'loki') {
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
      for (const raw of lines) lineItems(raw, {path: file.path, name, read, state, diagnostics}, items)
      if (items.length > 0) yield items
    }
    settleHeld(state, undefined, profile, diagnostics)
  }
}

/** Where a line of a log file is read (logItems), and what reading its file so far holds. */
export interface LineContext {
  path: string
  name: string
  read: {filter: CompiledFilter; profile: Profile | undefined}
  state: DecodeState
  diagnostics: Diagnostics
}

/** The entry of one raw line of a log file, in file order, into `items` when it is in the range. */
export function lineItems(raw: RawLine, context: LineContext, items: SourceItem[]): void {
  const {read, state, diagnostics} = context
  const canonical = raw.bytes ? undefined : readCanonical(raw.text)
  if (canonical === undefined) {
    for (const located of decodeBatch(context.path, [raw], read, diagnostics, state))
      items.push(fromEntry(located.entry, located.time, context.name, located.line))
    return
  }
  if (state.held) settleHeld(state, raw, read.profile, diagnostics)
  const {time} = canonical
  const {since, until} = read.filter
  if ((since === undefined || time >= since) && (until === undefined || time < until))
    items.push(fromCanonical(canonical, raw.text, context.name, raw.line))
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

function fromCanonical(canonical: CanonicalLine, raw: string, file: string, line: number): SourceItem {
  const {time, event, level} = canonical
  const {actor, ip, model, reason, failure} = canonicalFields(canonical)
  return {time, event, level, actor, ip, model, failure, file, line, reason, raw}
}

/** The item's audit entry, decoded in full the first time it is asked for (the LLM sample, --redact). */
function entryOf(item: SourceItem): AuditEntry | undefined {
  if (item.entry === undefined && item.raw !== undefined) {
    const decoded = decodeLine(item.raw)
    if (decoded.ok) item.entry = decoded.entry
  }
  return item.entry
}

/** Groups entries that say the same thing (one sample each). */
export function templateOf(item: SourceItem): string {
  if (item.record) return `${item.event}|${messageTemplate(item.record.message)}`
  return entryTemplate(item.event, item.level, item.reason)
}

/** A short text of the entry for the LLM. */
export function sampleText(item: SourceItem): string {
  if (item.record)
    return `${new Date(item.time).toISOString()} ${item.event} ${item.actor}: ${item.record.message}`.slice(0, SAMPLE_TEXT_CHARS)
  return entrySampleText(entryOf(item)!)
}

/** A short text of an audit entry for the LLM. */
export function entrySampleText(entry: AuditEntry): string {
  const {chain_hash: _, metadata: __, ...shown} = entry
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

import {z} from 'zod'

import type {AuditEntry, CanonicalLine, Level, LocatedEntry} from '../events/model.js'
import {defineCodec} from './codec.js'
import {
  actionOf,
  actionVerdict,
  familyOf,
  hostOf,
  IP_KEYS,
  isIpAddress,
  type Outcome,
  outcomeByValues,
  outcomeFor,
  outcomeOf,
  pidOf,
  sourceIpOf,
  SYSLOG_SEVERITY,
} from './event-class.js'
import {type ByteOut, bytesByLevel, LineMembers, MAX_RECORD_BYTES, putAscii, putBytes, putInteger, putPrintable} from './record-bytes.js'
import {safeJson} from '../text/sanitize.js'

// Elastic Common Schema (siem-formats.md §7). The core fields used here are stable across 8.x and 9.x.

export const ECS_VERSION = '9.4.0'

/** ECS event.category by event family; a family not listed gets none (it is optional). */
const CATEGORY: Record<string, string> = {
  auth: 'authentication',
  session: 'session',
  user: 'iam',
  group: 'iam',
  role: 'iam',
  config: 'configuration',
  api: 'api',
  process: 'process',
  file: 'file',
  network: 'network',
}

const HTTP_TYPE: Record<string, string> = {
  GET: 'access',
  HEAD: 'access',
  POST: 'creation',
  PUT: 'change',
  PATCH: 'change',
  DELETE: 'deletion',
}

/** An API call's event.type, by its HTTP method. */
function apiType(method: unknown): string {
  return (typeof method === 'string' ? HTTP_TYPE[method.toUpperCase()] : undefined) ?? 'access'
}

/** event.type, one of those ECS allows with the category (spec §7's table). */
function ecsType(category: string | undefined, entry: AuditEntry): string {
  const action = actionOf(entry.event)
  const has = (pattern: RegExp) => pattern.test(action)
  switch (category) {
    case 'authentication':
    case 'session': {
      return has(/logout|end|stop|close|expire/) ? 'end' : has(/login|logon|fail|success|start|open/) ? 'start' : 'info'
    }
    case 'iam':
    case 'configuration':
    case 'file': {
      return has(/delete|remove/)
        ? 'deletion'
        : has(/create|add/)
          ? 'creation'
          : has(/change|update|set|write|grant|revoke/)
            ? 'change'
            : has(/read|access/)
              ? 'access'
              : 'info'
    }
    case 'api': {
      return apiType(entry.details.method)
    }
    case 'process': {
      return has(/start|spawn/) ? 'start' : has(/end|stop|exit|kill/) ? 'end' : 'info'
    }
    case 'network': {
      return 'connection'
    }
    default: {
      return 'info'
    }
  }
}

export interface EcsOptions {
  version: string
}

/** The ECS document of an entry; the entry's own details, metadata and chain hash under `auditkit`. */
export function ecsDocument({entry}: LocatedEntry, {version}: EcsOptions): Record<string, unknown> {
  const category = CATEGORY[familyOf(entry.event)]
  const event: Record<string, unknown> = {kind: 'event', action: entry.event}
  if (category) event.category = [category]
  event.type = [ecsType(category, entry)]
  event.outcome = outcomeOf(entry)
  event.severity = SYSLOG_SEVERITY[entry.level]
  if (entry.chain_hash) event.id = entry.chain_hash
  const document: Record<string, unknown> = {
    '@timestamp': entry.timestamp,
    message: `${entry.event} by ${entry.actor}`,
    ecs: {version},
    event,
    log: {level: entry.level},
    user: {name: entry.actor},
  }
  const host = hostOf(entry)
  if (host) document.host = {hostname: host}
  const pid = pidOf(entry)
  if (pid !== undefined) document.process = {pid}
  const ip = sourceIpOf(entry)
  if (ip) document.source = {ip}
  document.auditkit = {details: entry.details, metadata: entry.metadata, ...(entry.chain_hash ? {chain_hash: entry.chain_hash} : {})}
  return document
}

/** Beyond printable ASCII: where safeJson might escape something, so the document takes the slow road. */
const NOT_PLAIN = /[^\x20-\x7e]/

/** Printable ASCII but `"` and `\`: JSON.stringify writes such a string as it is, between quotes. */
const PLAIN_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

const quoted = (text: string): string => `"${text}"`
const jsonString = (text: string): string => JSON.stringify(text)

interface EventParts {
  head: string
  category: string | undefined
  /** The event name and its head are plain (PLAIN_STRING, nothing NOT_PLAIN). */
  plain: boolean
  /** event.type as JSON, when it depends on the event name alone (not on an API call's method). */
  type: string | undefined
  outcome: (entry: AuditEntry) => Outcome
}

/**
 * The `auditkit` member's JSON; undefined when it holds anything beyond printable ASCII, tested
 * only for a plain entry (see ecsJsonWriter). The parts are tested as JSON.stringify returns them,
 * flat: a test of the text joined from them would copy it first.
 */
function auditkitJson({details, metadata, chain_hash}: AuditEntry, plain: boolean): string | undefined {
  const hash = chain_hash ? `,"chain_hash":${plain ? quoted(chain_hash) : JSON.stringify(chain_hash)}` : ''
  // Members written one by one cost less than one JSON.stringify of an object holding them; the same
  // text, as both are objects (a member JSON.stringify leaves out, undefined, goes the long way).
  if (typeof details === 'object' && typeof metadata === 'object') {
    const detailsJson = JSON.stringify(details)
    const metadataJson = JSON.stringify(metadata)
    if (plain && (NOT_PLAIN.test(detailsJson) || NOT_PLAIN.test(metadataJson))) return undefined
    return `{"details":${detailsJson},"metadata":${metadataJson}${hash}}`
  }
  const json = JSON.stringify(chain_hash ? {details, metadata, chain_hash} : {details, metadata})
  return plain && NOT_PLAIN.test(json) ? undefined : json
}

/**
 * safeJson(ecsDocument(located, options)), byte for byte, written as text: JSON.stringify of the
 * whole document cost more than the rest of the export. The parts that depend on the event name
 * alone are built once per name; an entry with anything beyond printable ASCII takes the slow road.
 * When every string of the entry is plain, it is quoted as it is (the chain hash too), and only the
 * details and metadata (JSON.stringify's text) can hold anything beyond printable ASCII.
 */
export function ecsJsonWriter({version}: EcsOptions): (located: LocatedEntry) => string {
  const ecs = `"ecs":${JSON.stringify({version})}`
  const ecsPlain = !NOT_PLAIN.test(ecs)
  const byEvent = new Map<string, EventParts>()
  return (located) => {
    const {entry} = located
    let parts = byEvent.get(entry.event)
    if (parts === undefined) {
      const category = CATEGORY[familyOf(entry.event)]
      const head = `"event":{"kind":"event","action":${JSON.stringify(entry.event)}${category ? `,"category":[${JSON.stringify(category)}]` : ''}`
      parts = {
        head,
        category,
        plain: ecsPlain && PLAIN_STRING.test(entry.event) && !NOT_PLAIN.test(head),
        type: category === 'api' ? undefined : JSON.stringify(ecsType(category, entry)),
        outcome: outcomeFor(entry.event),
      }
      if (byEvent.size < 10_000) byEvent.set(entry.event, parts)
    }
    const host = hostOf(entry)
    const ip = sourceIpOf(entry)
    const plain =
      parts.plain &&
      PLAIN_STRING.test(entry.timestamp) &&
      PLAIN_STRING.test(entry.actor) &&
      PLAIN_STRING.test(entry.level) &&
      (!entry.chain_hash || PLAIN_STRING.test(entry.chain_hash)) &&
      (!host || PLAIN_STRING.test(host)) &&
      (!ip || PLAIN_STRING.test(ip))
    let json: string | undefined
    try {
      json = auditkitJson(entry, plain)
    } catch {
      json = undefined
    }
    if (json === undefined) return safeJson(ecsDocument(located, {version}))
    const q = plain ? quoted : jsonString
    const id = entry.chain_hash ? `,"id":${q(entry.chain_hash)}` : ''
    const type = parts.type ?? JSON.stringify(ecsType(parts.category, entry))
    let text =
      `{"@timestamp":${q(entry.timestamp)},"message":${q(`${entry.event} by ${entry.actor}`)},${ecs},` +
      `${parts.head},"type":[${type}],"outcome":"${parts.outcome(entry)}","severity":${SYSLOG_SEVERITY[entry.level]}${id}},` +
      `"log":{"level":${q(entry.level)}},"user":{"name":${q(entry.actor)}}`
    if (host) text += `,"host":{"hostname":${q(host)}}`
    const pid = pidOf(entry)
    if (pid !== undefined) text += `,"process":{"pid":${pid}}`
    if (ip) text += `,"source":{"ip":${q(ip)}}`
    text += `,"auditkit":${json}}`
    // Plain strings leave only the details and metadata (tested above) to look into.
    return plain || !NOT_PLAIN.test(text) ? text : safeJson(ecsDocument(located, {version}))
  }
}

const ascii = (text: string) => Buffer.from(text, 'latin1')
const TIMESTAMP = ascii('{"@timestamp":"')
/** From event.type's `]` to event.severity's value, by outcome and level. */
const OUTCOMES: Record<Outcome, Record<Level, Buffer>> = {
  success: bytesByLevel((level) => `],"outcome":"success","severity":${SYSLOG_SEVERITY[level]}`),
  failure: bytesByLevel((level) => `],"outcome":"failure","severity":${SYSLOG_SEVERITY[level]}`),
  unknown: bytesByLevel((level) => `],"outcome":"unknown","severity":${SYSLOG_SEVERITY[level]}`),
}
const ID = ascii(',"id":"')
/** From the end of `event` to user.name's opening quote, by level. */
const LOG = bytesByLevel((level) => `},"log":{"level":"${level}"},"user":{"name":"`)
/** LOG after event.id's value. */
const ID_LOG = bytesByLevel((level) => `"},"log":{"level":"${level}"},"user":{"name":"`)
const HOST = ascii('"},"host":{"hostname":"')
const PID = ascii(',"process":{"pid":')
const IP = ascii(',"source":{"ip":"')
const DETAILS_AT = ascii(',"auditkit":{"details":')
const METADATA_AT = ascii(',"metadata":')
const HASH = ascii(',"chain_hash":"')
const QUOTE = 0x22
const CLOSE = 0x7d
/** The details and metadata members of the line being written. */
const MEMBERS = new LineMembers()

interface EventBytes {
  /** From the timestamp's closing quote to the message's actor. */
  message: Buffer
  /** From the message's closing quote into event.type's `[`, with its value when the event name alone says it. */
  head: Buffer
  /** An API call: event.type is by its method. */
  api: boolean
  verdict: 'failure' | boolean
}

/**
 * ecsJsonWriter's record of a line in the writer's exact form, as bytes (Encoder.encodeCanonical):
 * with every string printable ASCII (and canonical, so no `"` or `\`), each is quoted as it is,
 * and the details and metadata are their text as written when JSON.stringify would give it back.
 */
export function ecsCanonicalWriter(
  {version}: EcsOptions,
  /** What goes before the document (a `_bulk` action line): at most `most` bytes. */
  before?: {most: number; write: (line: CanonicalLine, buf: Buffer, pos: number) => number},
): (line: CanonicalLine, out: ByteOut) => boolean {
  const ecs = `"ecs":${JSON.stringify({version})}`
  const byEvent = new Map<string, EventBytes>()
  const eventBytes = (event: string): EventBytes => {
    const category = CATEGORY[familyOf(event)]
    const head = `"event":{"kind":"event","action":${JSON.stringify(event)}${category ? `,"category":[${JSON.stringify(category)}]` : ''}`
    const type = category === 'api' ? undefined : JSON.stringify(ecsType(category, {event} as AuditEntry))
    return {
      message: Buffer.from(`","message":"${event} by `),
      head: Buffer.from(`",${ecs},${head},"type":[${type ?? ''}`),
      api: type === undefined,
      verdict: actionVerdict(event),
    }
  }
  return (line, out) => {
    const {actor, details, metadata, chainHash, level} = line
    if (!MEMBERS.scan(details, metadata)) return false
    let parts = byEvent.get(line.event)
    if (parts === undefined) {
      parts = eventBytes(line.event)
      if (byEvent.size < 10_000) byEvent.set(line.event, parts)
    }
    // Every character below is one byte.
    const most =
      (before?.most ?? 0) + parts.message.length + parts.head.length + 2 * actor.length + 2 * (details.length + metadata.length) + 512
    if (most > MAX_RECORD_BYTES) return false
    out.reserve(most)
    const buf = out.buf
    const start = before ? before.write(line, buf, out.pos) : out.pos
    let p = putPrintable(buf, putBytes(buf, putAscii(buf, putBytes(buf, start, TIMESTAMP), line.timestamp), parts.message), actor)
    if (p < 0) return false
    p = putBytes(buf, p, parts.head)
    if (parts.api) {
      const type = apiType(MEMBERS.detail('method'))
      buf[p++] = QUOTE
      p = putPrintable(buf, p, type)
      buf[p++] = QUOTE
    }
    const outcome =
      parts.verdict === 'failure' ? 'failure' : outcomeByValues(MEMBERS.detail('success'), MEMBERS.detail('status'), level, parts.verdict)
    p = putBytes(buf, p, OUTCOMES[outcome][level])
    p =
      chainHash === undefined ? putBytes(buf, p, LOG[level]) : putBytes(buf, putAscii(buf, putBytes(buf, p, ID), chainHash), ID_LOG[level])
    p = putPrintable(buf, p, actor)
    if (MEMBERS.hostnameStart >= 0) {
      p = putPrintable(buf, putBytes(buf, p, HOST), metadata, MEMBERS.hostnameStart, MEMBERS.hostnameEnd)
      if (p < 0) return false
    }
    buf[p++] = QUOTE
    buf[p++] = CLOSE
    const pid = MEMBERS.meta('pid')
    if (Number.isSafeInteger(pid)) {
      p = putInteger(buf, putBytes(buf, p, PID), pid as number)
      buf[p++] = CLOSE
    }
    for (const key of IP_KEYS) {
      const ip = MEMBERS.detail(key)
      if (!isIpAddress(ip)) continue
      p = putPrintable(buf, putBytes(buf, p, IP), ip)
      if (p < 0) return false
      buf[p++] = QUOTE
      buf[p++] = CLOSE
      break
    }
    p = putPrintable(buf, putBytes(buf, p, DETAILS_AT), details)
    if (p >= 0) p = putPrintable(buf, putBytes(buf, p, METADATA_AT), metadata)
    if (p < 0) return false
    if (chainHash !== undefined) {
      p = putAscii(buf, putBytes(buf, p, HASH), chainHash)
      buf[p++] = QUOTE
    }
    buf[p++] = CLOSE
    buf[p++] = CLOSE
    out.pos = p
    return true
  }
}

export const ecsOptions = z.strictObject({
  version: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/, {error: 'an ECS version such as 9.4.0'})
    .default(ECS_VERSION),
})

/** One ECS JSON document a line, for Filebeat, Logstash or an ingest pipeline. */
export const ecsCodec = defineCodec({
  name: 'ecs',
  summary: 'Elastic Common Schema documents, one a line',
  options: ecsOptions,
  framing: 'newline',
  mediaType: 'application/x-ndjson',
  extension: 'ecs.jsonl',
  create: (options) => ({encode: ecsJsonWriter(options), encodeCanonical: ecsCanonicalWriter(options)}),
})

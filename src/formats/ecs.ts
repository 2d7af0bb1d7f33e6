import {z} from 'zod'

import type {AuditEntry, LocatedEntry} from '../events/model.js'
import {defineCodec} from './codec.js'
import {actionOf, familyOf, hostOf, outcomeOf, pidOf, sourceIpOf, SYSLOG_SEVERITY} from './event-class.js'
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
      const method = typeof entry.details.method === 'string' ? HTTP_TYPE[entry.details.method.toUpperCase()] : undefined
      return method ?? 'access'
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

/**
 * safeJson(ecsDocument(located, options)), byte for byte, written as text: JSON.stringify of the
 * whole document cost more than the rest of the export. The parts that depend on the event name
 * alone are built once per name; an entry with anything beyond printable ASCII takes the slow road.
 */
export function ecsJsonWriter({version}: EcsOptions): (located: LocatedEntry) => string {
  const ecs = `"ecs":${JSON.stringify({version})}`
  const byEvent = new Map<string, {head: string; category: string | undefined}>()
  return (located) => {
    const {entry} = located
    let parts = byEvent.get(entry.event)
    if (parts === undefined) {
      const category = CATEGORY[familyOf(entry.event)]
      parts = {
        head: `"event":{"kind":"event","action":${JSON.stringify(entry.event)}${category ? `,"category":[${JSON.stringify(category)}]` : ''}`,
        category,
      }
      if (byEvent.size < 10_000) byEvent.set(entry.event, parts)
    }
    let json: string
    try {
      json = JSON.stringify({details: entry.details, metadata: entry.metadata, ...(entry.chain_hash ? {chain_hash: entry.chain_hash} : {})})
    } catch {
      return safeJson(ecsDocument(located, {version}))
    }
    const id = entry.chain_hash ? `,"id":${JSON.stringify(entry.chain_hash)}` : ''
    let text =
      `{"@timestamp":${JSON.stringify(entry.timestamp)},"message":${JSON.stringify(`${entry.event} by ${entry.actor}`)},${ecs},` +
      `${parts.head},"type":[${JSON.stringify(ecsType(parts.category, entry))}],"outcome":"${outcomeOf(entry)}","severity":${SYSLOG_SEVERITY[entry.level]}${id}},` +
      `"log":{"level":${JSON.stringify(entry.level)}},"user":{"name":${JSON.stringify(entry.actor)}}`
    const host = hostOf(entry)
    if (host) text += `,"host":{"hostname":${JSON.stringify(host)}}`
    const pid = pidOf(entry)
    if (pid !== undefined) text += `,"process":{"pid":${JSON.stringify(pid)}}`
    const ip = sourceIpOf(entry)
    if (ip) text += `,"source":{"ip":${JSON.stringify(ip)}}`
    text += `,"auditkit":${json}}`
    return NOT_PLAIN.test(text) ? safeJson(ecsDocument(located, {version})) : text
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
  create: (options) => ({encode: ecsJsonWriter(options)}),
})

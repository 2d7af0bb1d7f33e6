import {isIP} from 'node:net'

import type {AuditEntry, Level} from '../events/model.js'

// What the SIEM codecs (CEF, LEEF, ECS, OCSF) derive from an entry alike: the outcome, the
// numeric severities, and the few well-known fields (host, pid, source IP) where the entry has them.

export type Outcome = 'success' | 'failure' | 'unknown'

const FAILURE = /(^|[._-])(fail|failed|failure|denied|deny|error|reject|rejected|refused|invalid|forbidden|blocked)($|[._-])/
const SUCCESS =
  /(^|[._-])(success|succeeded|ok|login|logout|start|end|grant|granted|allow|allowed|create|change|write|read|request|delete)($|[._-])/

/** From the event's action (`auth.fail`), then an explicit `details.success`/`details.status`, then the level. */
export function outcomeOf(entry: AuditEntry): Outcome {
  const action = entry.event.slice(entry.event.indexOf('.') + 1)
  if (FAILURE.test(action)) return 'failure'
  const {success, status} = entry.details
  if (success === false || (typeof status === 'number' && status >= 400)) return 'failure'
  if (entry.level === 'error') return 'failure'
  if (success === true || (typeof status === 'number' && status < 400) || SUCCESS.test(action)) return 'success'
  return 'unknown'
}

/** CEF severity 0–10 (spec §5: debug 1, info 3, warning 6, error 8). */
export const CEF_SEVERITY: Record<Level, number> = {debug: 1, info: 3, warning: 6, error: 8}

/** Syslog severity (RFC 5424 table 2), for ECS event.severity. */
export const SYSLOG_SEVERITY: Record<Level, number> = {debug: 7, info: 6, warning: 4, error: 3}

/** The entry's host name (metadata.hostname), if it is a string. */
export function hostOf(entry: AuditEntry): string | undefined {
  const host = entry.metadata.hostname
  return typeof host === 'string' && host !== '' ? host : undefined
}

/** The writer's process id (metadata.pid), if it is an integer. */
export function pidOf(entry: AuditEntry): number | undefined {
  const pid = entry.metadata.pid
  return Number.isSafeInteger(pid) ? (pid as number) : undefined
}

const IP_KEYS = ['ip', 'source_ip', 'src_ip', 'client_ip', 'ip_address', 'remote_addr']

/** The first of details.ip, .source_ip, … that is an IP address (v4 or v6). */
export function sourceIpOf(entry: AuditEntry): string | undefined {
  for (const key of IP_KEYS) {
    const value = entry.details[key]
    if (typeof value === 'string' && isIP(value) !== 0) return value
  }
  return undefined
}

/** The event's family, the segment before the first dot (`auth` of `auth.fail`). */
export function familyOf(event: string): string {
  return event.slice(0, event.indexOf('.'))
}

/** The event's action, what follows the family (`fail` of `auth.fail`). */
export function actionOf(event: string): string {
  return event.slice(event.indexOf('.') + 1)
}

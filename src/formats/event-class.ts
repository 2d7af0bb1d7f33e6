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
  return outcomeByDetails(entry, action)
}

/** outcomeOf for entries of one event name, its action tested once (for codecs that cache by event name). */
export function outcomeFor(event: string): (entry: AuditEntry) => Outcome {
  const verdict = actionVerdict(event)
  if (verdict === 'failure') return () => 'failure'
  return (entry) => outcomeByDetails(entry, verdict)
}

/** What the event's action says alone: a failure, or else whether it reads as a success (then the details and level decide). */
export function actionVerdict(event: string): 'failure' | boolean {
  const action = actionOf(event)
  return FAILURE.test(action) ? 'failure' : SUCCESS.test(action)
}

function outcomeByDetails(entry: AuditEntry, action: string | boolean): Outcome {
  return outcomeByValues(entry.details.success, entry.details.status, entry.level, action)
}

/**
 * The outcome of an entry whose action is not a failure, from `details.success`, `details.status`
 * and the level; `action`: the action, or whether it reads as a success, tested already.
 */
export function outcomeByValues(success: unknown, status: unknown, level: Level, action: string | boolean): Outcome {
  if (success === false || (typeof status === 'number' && status >= 400)) return 'failure'
  if (level === 'error') return 'failure'
  if (success === true || (typeof status === 'number' && status < 400) || (typeof action === 'boolean' ? action : SUCCESS.test(action)))
    return 'success'
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

/** The details members that may hold the source IP address, in the order they are looked at. */
export const IP_KEYS = ['ip', 'source_ip', 'src_ip', 'client_ip', 'ip_address', 'remote_addr']

/** The first of details.ip, .source_ip, … that is an IP address (v4 or v6). */
export function sourceIpOf(entry: AuditEntry): string | undefined {
  for (const key of IP_KEYS) {
    const value = entry.details[key]
    if (isIpAddress(value)) return value
  }
  return undefined
}

/** A string that is an IP address (v4 or v6). */
export function isIpAddress(value: unknown): value is string {
  return typeof value === 'string' && (isDottedQuad(value) || isIP(value) !== 0)
}

/**
 * True only for what net.isIPv4 accepts (four decimal parts 0–255, no leading zeros), read without
 * its regular expression: most addresses in logs are these, and isIP cost more than the rest of a
 * CEF record. False says nothing: isIP decides then.
 */
function isDottedQuad(text: string): boolean {
  let parts = 0
  let value = 0
  let digits = 0
  let lead = 0
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46 // a dot closes the last part
    if (c === 46) {
      if (digits === 0 || (digits > 1 && lead === 48) || value > 255 || ++parts > 4) return false
      value = 0
      digits = 0
    } else {
      if (c < 48 || c > 57 || digits === 3) return false
      if (digits === 0) lead = c
      value = value * 10 + c - 48
      digits++
    }
  }
  return parts === 4
}

/** The event's family, the segment before the first dot (`auth` of `auth.fail`). */
export function familyOf(event: string): string {
  return event.slice(0, event.indexOf('.'))
}

/** The event's action, what follows the family (`fail` of `auth.fail`). */
export function actionOf(event: string): string {
  return event.slice(event.indexOf('.') + 1)
}

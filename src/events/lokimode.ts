import type {AuditEntry, Level} from './model.js'

// loki-mode dashboard audit entries, mapped to the native model as
// ../shared/specs/lokimode-format.md ("Mapping to the native event model") fixes.

/** Actions loki-mode's syslog forwarder sends at WARNING (§6). */
const SECURITY_ACTIONS = new Set(['delete', 'kill', 'stop', 'login', 'logout', 'create_token', 'revoke_token'])

/** True when an object looks like a loki-mode entry rather than a native one. */
export function isLokiShaped(object: Record<string, unknown>): boolean {
  return !('event' in object) && typeof object.action === 'string' && typeof object.resource_type === 'string'
}

/** Lowercases and replaces what the native event grammar does not allow, so `event` stays valid. */
function eventSegment(text: string): string {
  const segment = text.toLowerCase().replace(/[^a-z0-9_-]/g, '_')
  return segment === '' ? '_' : segment
}

/** Maps an entry; returns a reason string when required fields are missing or of the wrong type. */
export function mapLokiEntry(object: Record<string, unknown>): AuditEntry | string {
  const {timestamp, action, resource_type: resourceType} = object
  if (typeof timestamp !== 'string') return 'timestamp: missing or not a string'
  if (typeof action !== 'string') return 'action: missing or not a string'
  if (typeof resourceType !== 'string') return 'resource_type: missing or not a string'
  const details = object.details
  if (details !== undefined && (details === null || typeof details !== 'object' || Array.isArray(details))) {
    return 'details: not an object'
  }

  const level: Level = object.success === false ? 'error' : SECURITY_ACTIONS.has(action) ? 'warning' : 'info'
  const actor = [object.user_id, object.token_id].find((v) => typeof v === 'string' && v !== '') as string | undefined
  const mapped: Record<string, unknown> = {...(details as Record<string, unknown> | undefined)}
  for (const key of ['resource_id', 'ip_address', 'user_agent', 'error'] as const) {
    if (object[key] !== null && object[key] !== undefined) mapped[key] = object[key]
  }

  const entry: AuditEntry = {
    timestamp,
    event: `${eventSegment(resourceType)}.${eventSegment(action)}`,
    level,
    actor: actor ?? 'anonymous',
    details: mapped,
    metadata: {source: 'loki-mode'},
  }
  if (typeof object._integrity_hash === 'string') entry.chain_hash = object._integrity_hash
  return entry
}

import {z} from 'zod'

import type {AuditEntry, Level} from '../events/model.js'
import {defineCodec} from './codec.js'
import {actionOf, familyOf, hostOf, type Outcome, outcomeOf, sourceIpOf} from './event-class.js'
import {safeJson} from '../text/sanitize.js'

// OCSF (siem-formats.md §8): a class per event family, type_uid = class_uid * 100 + activity_id,
// time in epoch ms, metadata.product and metadata.version (the schema version).

export const OCSF_VERSION = '1.8.0'

interface OcsfClass {
  uid: number
  name: string
  category: number
  categoryName: string
  /** Activity ids by the words of the event's action; 99 Other when none fits. */
  activities: Array<[RegExp, number, string]>
}

const AUTHENTICATION: OcsfClass = {
  uid: 3002,
  name: 'Authentication',
  category: 3,
  categoryName: 'Identity & Access Management',
  activities: [
    [/logout|logoff|end|stop|close/, 2, 'Logoff'],
    [/login|logon|fail|success|start|open|auth/, 1, 'Logon'],
  ],
}
const API_ACTIVITY: OcsfClass = {
  uid: 6003,
  name: 'API Activity',
  category: 6,
  categoryName: 'Application Activity',
  activities: [
    [/^POST$|create/, 1, 'Create'],
    [/^GET$|^HEAD$|read|request|get|list/, 2, 'Read'],
    [/^PUT$|^PATCH$|update|change/, 3, 'Update'],
    [/^DELETE$|delete/, 4, 'Delete'],
  ],
}
const ACCOUNT_CHANGE: OcsfClass = {
  uid: 3001,
  name: 'Account Change',
  category: 3,
  categoryName: 'Identity & Access Management',
  activities: [
    [/create|add/, 1, 'Create'],
    [/enable/, 2, 'Enable'],
    [/password_change|password/, 3, 'Password Change'],
    [/reset/, 4, 'Password Reset'],
    [/disable/, 5, 'Disable'],
    [/delete|remove/, 6, 'Delete'],
    [/unlock/, 12, 'Unlock'],
    [/lock/, 9, 'Lock'],
  ],
}
const GROUP_MANAGEMENT: OcsfClass = {
  uid: 3006,
  name: 'Group Management',
  category: 3,
  categoryName: 'Identity & Access Management',
  activities: [
    [/grant|assign/, 1, 'Assign Privileges'],
    [/revoke/, 2, 'Revoke Privileges'],
    [/add|join/, 3, 'Add User'],
    [/remove|leave/, 4, 'Remove User'],
    [/delete/, 5, 'Delete'],
    [/create/, 6, 'Create'],
  ],
}
const ENTITY_MANAGEMENT: OcsfClass = {
  uid: 3004,
  name: 'Entity Management',
  category: 3,
  categoryName: 'Identity & Access Management',
  activities: [
    [/create|add|generate/, 1, 'Create'],
    [/read|get|list/, 2, 'Read'],
    [/change|update|set|rotate|seal/, 3, 'Update'],
    [/delete|remove|revoke/, 4, 'Delete'],
  ],
}
const BASE_EVENT: OcsfClass = {uid: 0, name: 'Base Event', category: 0, categoryName: 'Uncategorized', activities: []}

const BY_FAMILY: Record<string, OcsfClass> = {
  auth: AUTHENTICATION,
  session: AUTHENTICATION,
  api: API_ACTIVITY,
  user: ACCOUNT_CHANGE,
  group: GROUP_MANAGEMENT,
  role: GROUP_MANAGEMENT,
  config: ENTITY_MANAGEMENT,
  key: ENTITY_MANAGEMENT,
}

const SEVERITY: Record<Level, [number, string]> = {
  debug: [1, 'Informational'],
  info: [1, 'Informational'],
  warning: [3, 'Medium'],
  error: [4, 'High'],
}
const STATUS: Record<Outcome, [number, string]> = {success: [1, 'Success'], failure: [2, 'Failure'], unknown: [0, 'Unknown']}

function activity(cls: OcsfClass, entry: AuditEntry): [number, string] {
  const method = cls === API_ACTIVITY && typeof entry.details.method === 'string' ? entry.details.method.toUpperCase() : undefined
  // The HTTP method, when there is one, says more than the action's words.
  for (const text of method ? [method, actionOf(entry.event)] : [actionOf(entry.event)]) {
    for (const [pattern, id, name] of cls.activities) if (pattern.test(text)) return [id, name]
  }
  return [99, 'Other']
}

const options = z.strictObject({
  vendor: z.string().min(1).default('auditkit'),
  product: z.string().min(1).default('auditkit'),
  productVersion: z.string().min(1).optional(),
  schemaVersion: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/, {error: 'an OCSF schema version such as 1.8.0'})
    .default(OCSF_VERSION),
})

/** One OCSF event a line. The class's required objects are filled from the entry (actor, host, source IP). */
export const ocsfCodec = defineCodec({
  name: 'ocsf',
  summary: 'OCSF events (Authentication, API Activity, Account Change, Entity Management, …), one a line',
  options,
  framing: 'newline',
  mediaType: 'application/x-ndjson',
  extension: 'ocsf.jsonl',
  create({vendor, product, productVersion, schemaVersion}) {
    const productObject = {name: product, vendor_name: vendor, ...(productVersion ? {version: productVersion} : {})}
    return {
      encode({entry, time}) {
        const cls = BY_FAMILY[familyOf(entry.event)] ?? BASE_EVENT
        const [activityId, activityName] = activity(cls, entry)
        const [severityId, severity] = SEVERITY[entry.level]
        const [statusId, status] = STATUS[outcomeOf(entry)]
        const host = hostOf(entry)
        const ip = sourceIpOf(entry)
        const event: Record<string, unknown> = {
          class_uid: cls.uid,
          class_name: cls.name,
          category_uid: cls.category,
          category_name: cls.categoryName,
          activity_id: activityId,
          activity_name: activityName,
          type_uid: cls.uid * 100 + activityId,
          type_name: `${cls.name}: ${activityName}`,
          time,
          severity_id: severityId,
          severity,
          status_id: statusId,
          status,
          message: `${entry.event} by ${entry.actor}`,
          metadata: {
            version: schemaVersion,
            product: productObject,
            log_level: entry.level,
            original_time: entry.timestamp,
            log_name: 'audit',
            ...(entry.chain_hash ? {uid: entry.chain_hash} : {}),
          },
        }
        const user = {name: entry.actor}
        switch (cls) {
          case AUTHENTICATION: {
            event.user = user
            event.service = {name: product}
            if (host) event.dst_endpoint = {hostname: host}
            if (ip) event.src_endpoint = {ip}
            break
          }
          case API_ACTIVITY: {
            event.actor = {user}
            event.api = {operation: typeof entry.details.path === 'string' ? entry.details.path : actionOf(entry.event)}
            event.src_endpoint = ip ? {ip} : {name: entry.actor}
            break
          }
          case ACCOUNT_CHANGE:
          case GROUP_MANAGEMENT: {
            event.actor = {user}
            event.user = {name: typeof entry.details.target === 'string' ? entry.details.target : entry.actor}
            break
          }
          case ENTITY_MANAGEMENT: {
            event.actor = {user}
            event.entity = {name: typeof entry.details.key === 'string' ? entry.details.key : entry.event}
            break
          }
          default: {
            event.actor = {user}
          }
        }
        event.unmapped = {event: entry.event, details: entry.details}
        return safeJson(event)
      },
    }
  },
})

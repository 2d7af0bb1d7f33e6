import {z} from 'zod'

/** Severity levels in ascending order. */
export const LEVELS = ['debug', 'info', 'warning', 'error'] as const
export type Level = (typeof LEVELS)[number]

const LEVEL_ALIASES: Record<string, Level> = {
  debug: 'debug',
  info: 'info',
  warning: 'warning',
  warn: 'warning',
  error: 'error',
  err: 'error',
}

/** Accepts the canonical names and the `warn`/`err` spellings, case-insensitively. */
export function parseLevel(value: string): Level | undefined {
  return LEVEL_ALIASES[value.toLowerCase()]
}

export function levelRank(level: Level): number {
  return LEVELS.indexOf(level)
}

/** `category.action[.more]`, lowercase segments of `[a-z0-9_-]`. */
export const EVENT_NAME = /^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/

/** RFC 3339 date-time with an explicit offset (`Z` or `±hh:mm`). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/

const jsonObject = z.record(z.string(), z.unknown())

/** The native entry as read from disk (lenient where DESIGN.md allows it). */
export const entrySchema = z.object({
  timestamp: z.string().regex(RFC3339, 'not an RFC 3339 timestamp').refine((s) => !Number.isNaN(Date.parse(s)), 'not a valid date'),
  event: z.string().regex(EVENT_NAME, 'not a category.action event name'),
  level: z.string().transform((s, ctx) => {
    const level = parseLevel(s)
    if (!level) {
      ctx.addIssue({code: 'custom', message: `unknown level "${s}"`})
      return z.NEVER
    }
    return level
  }),
  actor: z.string(),
  details: jsonObject.default({}),
  metadata: jsonObject.default({}),
  chain_hash: z.string().regex(/^[0-9a-f]{64}$/, 'not 64 lowercase hex').optional(),
})

export interface AuditEntry {
  timestamp: string
  event: string
  level: Level
  actor: string
  details: Record<string, unknown>
  metadata: Record<string, unknown>
  chain_hash?: string
}

/** Which writer's format a file is in. */
export type Profile = 'native' | 'loki'

/** An entry with where it came from, so every message can point at the exact line. */
export interface LocatedEntry {
  entry: AuditEntry
  /** Milliseconds since the epoch, from `entry.timestamp`. */
  time: number
  /** The file's path and 1-based physical line number. */
  file: string
  line: number
  /** The line as it is on disk (without the LF). */
  raw: string
  profile: Profile
}

/** Describes the first zod issue in one short phrase, e.g. `level: unknown level "loud"`. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0]
  if (!issue) return 'invalid entry'
  const path = issue.path.join('.')
  return path ? `${path}: ${issue.message}` : issue.message
}

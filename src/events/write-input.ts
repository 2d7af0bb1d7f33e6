/**
 * What a writer takes, checked without a writer: the event name, level, actor and details of one
 * entry. The writer checks every write with it; `audit log` checks its input before it opens the
 * directory, and what the proxy hands to its writer thread is a WriteInput.
 */
import {userInfo} from 'node:os'

import {z} from 'zod'

import {EVENT_NAME, type Level, LEVELS, MAX_EVENT_LENGTH, MAX_LINE_BYTES, parseLevel} from './model.js'

/** What `write()` takes; level defaults to info, actor to the OS user, details to {}. */
export interface WriteInput {
  event: string
  level?: string
  actor?: string
  details?: Record<string, unknown>
}

/** The event category auditkit's own records (retention, recovery) use. */
export const RESERVED_CATEGORY = 'audit'

/** Bad input to `write()`: nothing was written. */
export class WriteInputError extends Error {}

const inputSchema = z.strictObject({
  event: z
    .string({error: 'event: expected a string'})
    .max(MAX_EVENT_LENGTH, {
      error: (issue) => `event: ${String(issue.input).length} characters; an event name has at most ${MAX_EVENT_LENGTH}`,
      abort: true,
    })
    .regex(EVENT_NAME, {
      error: (issue) => `event "${String(issue.input)}": expected category.action, lowercase [a-z0-9_-] segments joined by dots`,
    })
    // verify trusts audit.retention and audit.recovery to account for removed files and torn lines,
    // so only the writer itself may append events of its own category.
    .refine((event) => !event.startsWith(`${RESERVED_CATEGORY}.`), {
      error: (issue) => `event "${String(issue.input)}": the "${RESERVED_CATEGORY}." category is reserved for auditkit's own records`,
    }),
  level: z.string({error: 'level: expected a string'}).optional(),
  actor: z.string({error: 'actor: expected a string'}).optional(),
  // Checked by jsonProblem first (zod's record check would copy it, dropping an own "__proto__" member).
  details: z
    .custom<Record<string, unknown>>((details) => details !== null && typeof details === 'object' && !Array.isArray(details), {
      error: 'details: expected an object',
    })
    .optional(),
})

/** Checks what `write()` takes without writing anything: the entry's parts, or a WriteInputError. */
export function checkWriteInput(input: WriteInput): {event: string; level: Level; actor?: string; details: Record<string, unknown>} {
  const details = (input as {details?: unknown} | null)?.details
  const problem = details === undefined ? undefined : jsonProblem(details, 'details')
  if (problem) throw new WriteInputError(problem)
  const parsed = inputSchema.safeParse(input)
  if (!parsed.success) throw new WriteInputError(describeInputIssue(parsed.error))
  const level = parsed.data.level === undefined ? 'info' : parseLevel(parsed.data.level)
  if (!level) throw new WriteInputError(`level "${parsed.data.level}": expected one of ${LEVELS.join(', ')}`)
  // The caller's own object, validated as it is.
  return {event: parsed.data.event, level, actor: parsed.data.actor, details: (details as Record<string, unknown> | undefined) ?? {}}
}

/** How deep details may nest; deeper input is refused before anything recursive sees it. */
const MAX_DEPTH = 64

/**
 * Why a value would not survive JSON as it is (so the entry would not say what the caller meant),
 * or undefined: only strings, finite numbers, booleans, null, arrays without holes or extra members,
 * and plain objects pass, nested at most MAX_DEPTH deep. Iterative, so no input can exhaust the stack.
 * `exactIntegers`, for values read from JSON text: integers beyond 2^53 (rounded by JSON.parse) fail too.
 */
export function jsonProblem(root: unknown, rootPath: string, options: {exactIntegers?: boolean} = {}): string | undefined {
  // Items to check, and `leave` marks that end an object's visit: `open` holds the objects being visited.
  const stack: Array<{value: unknown; path: string; depth: number} | {leave: object}> = [{value: root, path: rootPath, depth: 0}]
  const open = new Set<object>()
  // Each value is at least one byte of a line that may hold MAX_LINE_BYTES: more cannot be written anyway.
  let values = 0
  for (let item = stack.pop(); item; item = stack.pop()) {
    if (++values > MAX_LINE_BYTES) return `${rootPath}: more values than an entry can hold`
    if ('leave' in item) {
      open.delete(item.leave)
      continue
    }
    const {value, path, depth} = item
    if (value === null || typeof value === 'string' || typeof value === 'boolean') continue
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return `${path}: ${value} is not a JSON number`
      if (options.exactIntegers && Number.isInteger(value) && !Number.isSafeInteger(value))
        return `${path}: an integer beyond 2^53 loses digits when read; give it as a string`
      continue
    }
    if (typeof value !== 'object') return `${path}: ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`} is not a JSON value`
    if (depth >= MAX_DEPTH) return `${path}: nested deeper than ${MAX_DEPTH} levels`
    if (open.has(value)) return `${path}: circular reference`
    open.add(value)
    stack.push({leave: value})
    if (Array.isArray(value)) {
      if (Object.keys(value).length !== value.length) return `${path}: an array with holes or named members is not a JSON array`
      for (let i = value.length - 1; i >= 0; i--) stack.push({value: value[i], path: `${path}[${i}]`, depth: depth + 1})
      continue
    }
    const proto = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null)
      return `${path}: a ${proto?.constructor?.name ?? 'class instance'} is not a plain JSON object`
    const members = Object.entries(value)
    for (let i = members.length - 1; i >= 0; i--) stack.push({value: members[i][1], path: `${path}.${members[i][0]}`, depth: depth + 1})
  }
  return undefined
}

/** A zod error as one line: its first issue, with the member it is about. */
export function describeInputIssue(error: z.ZodError): string {
  const issue = error.issues[0]
  if (issue.code === 'unrecognized_keys') return `unknown member ${issue.keys.map((k) => `"${k}"`).join(', ')}`
  const path = issue.path.map(String).join('.')
  return path === '' || issue.message.startsWith(path) ? issue.message : `${path}: ${issue.message}`
}

let osUser: string | undefined
/** The actor when none is given: the OS user running the writer. */
export function defaultActor(): string {
  if (osUser === undefined) {
    try {
      osUser = userInfo().username
    } catch {
      osUser = process.env.USER ?? 'unknown'
    }
  }
  return osUser
}

import {Flags} from '@oclif/core'

import {FilterError, type FilterSpec} from '../events/filter.js'
import {type Level, LEVELS, parseLevel, PROFILES, type Profile} from '../events/model.js'
import {parseTimeExpression, TimeExpressionError} from '../events/time.js'
import {CODEC_NAMES} from '../formats/registry.js'

/** The level names a flag accepts, listed so that shell completion offers them. */
export const LEVEL_NAMES = [...LEVELS, 'warn', 'err']

/** --profile, for every command that reads logs: verify gives it a description of its own. */
export const profileFlag = Flags.option({
  description: 'read every file as this format instead of recognising it by content',
  options: PROFILES,
  helpGroup: 'FILTER',
})

/**
 * --identity, for every command that reads logs: the age identity file that decrypts encrypted
 * parts (.age). Applied by AuditCommand.settings(), over config `encryption.identity`.
 */
export const identityFlag = Flags.string({
  description:
    'age identity file (private key, mode 0600, as age-keygen writes it) to read encrypted parts (.jsonl.age) with (default: $AUDIT_IDENTITY, config encryption.identity)',
  env: 'AUDIT_IDENTITY',
})

/** The filter flags every reading command takes (and --identity, which every reading command takes too). */
export const filterFlags = {
  since: Flags.string({
    aliases: ['from'],
    char: 'S',
    description:
      'entries at or after this time (RFC 3339, 2026-11-02, 15m, -3h, "1 hour ago", 2d, 1M for a month, 1y, today, yesterday, this-week, recent, now); alias --from',
    helpGroup: 'FILTER',
  }),
  until: Flags.string({
    aliases: ['to'],
    char: 'U',
    description: 'entries before this time (same forms as --since); alias --to',
    helpGroup: 'FILTER',
  }),
  event: Flags.string({
    char: 'e',
    multiple: true,
    description: 'event name or glob, e.g. auth.* (repeatable: any of them)',
    helpGroup: 'FILTER',
  }),
  level: Flags.string({
    char: 'l',
    description: `minimum level: ${LEVELS.join(', ')} (warn and err accepted)`,
    options: LEVEL_NAMES,
    helpGroup: 'FILTER',
  }),
  actor: Flags.string({char: 'a', multiple: true, description: 'actor (repeatable: any of them)', helpGroup: 'FILTER'}),
  where: Flags.string({
    char: 'w',
    multiple: true,
    description: 'field condition PATH=VALUE, PATH!=VALUE, PATH~REGEX or PATH!~REGEX, e.g. details.ip=10.0.0.5 (repeatable: all of them)',
    helpGroup: 'FILTER',
  }),
  grep: Flags.string({char: 'g', description: 'regular expression the raw line must match', helpGroup: 'FILTER'}),
  local: Flags.boolean({
    description: 'show times, and read dates and day names, in the local time zone instead of UTC',
    helpGroup: 'FILTER',
  }),
  profile: profileFlag(),
  identity: identityFlag,
}

export interface FilterFlagValues {
  since?: string
  until?: string
  event?: string[]
  level?: string
  actor?: string[]
  where?: string[]
  grep?: string
  local?: boolean
  profile?: Profile
}

function timeFlag(flag: string, value: string | undefined, now: number, local: boolean): number | undefined {
  if (value === undefined) return undefined
  try {
    return parseTimeExpression(value, {now, local})
  } catch (error) {
    throw new TimeExpressionError(`--${flag}: ${(error as Error).message}`)
  }
}

/** The members every entry has at its top; a --where path must start with one of them. */
const ENTRY_MEMBERS = ['timestamp', 'event', 'level', 'actor', 'details', 'metadata', 'chain_hash']
const WHERE_PARTS = /^\s*([A-Za-z0-9_.@-]+)\s*(!=|!~|=|~)\s*(.*)$/s

/**
 * --where conditions with the spaces around the operator dropped (`details.ip = 10.0.0.5` would
 * otherwise look for " 10.0.0.5"), and a hint for each path no entry can have, such as `ip`
 * for `details.ip`: such a condition silently matches nothing.
 */
export function tidyWhere(where: string[]): {where: string[]; hints: string[]} {
  const hints: string[] = []
  const tidy = where.map((condition) => {
    const m = WHERE_PARTS.exec(condition)
    if (!m) return condition
    const [, path, op, operand] = m
    const head = path.split('.', 1)[0]
    if (!ENTRY_MEMBERS.includes(head)) {
      hints.push(
        `--where "${condition}": entries have no member "${head}" (they have ${ENTRY_MEMBERS.join(', ')}); did you mean details.${path}?`,
      )
    }
    return `${path}${op}${operand}`
  })
  return {where: tidy, hints}
}

/** The path of each --where condition that needs the member present to hold (=, ~), for hints. */
export function presentPaths(where: string[]): string[] {
  return where.flatMap((condition) => {
    const m = WHERE_PARTS.exec(condition)
    return m && (m[2] === '=' || m[2] === '~') && ENTRY_MEMBERS.includes(m[1].split('.', 1)[0]) ? [m[1]] : []
  })
}

/** Turns the filter flags into a FilterSpec; `defaultSince` applies when --since is absent. */
export function filterSpecFromFlags(flags: FilterFlagValues, now: number, defaultSince?: number): FilterSpec {
  let level: Level | undefined
  if (flags.level !== undefined) {
    level = parseLevel(flags.level)
    if (!level) throw new FilterError(`--level "${flags.level}": expected one of ${LEVELS.join(', ')}`)
  }
  const local = flags.local ?? false
  return {
    since: timeFlag('since', flags.since, now, local) ?? defaultSince,
    until: timeFlag('until', flags.until, now, local),
    events: flags.event,
    level,
    actors: flags.actor,
    where: flags.where,
    grep: flags.grep,
  }
}

/** --format, for every command whose answer is a stream of entries: the names come from the codec registry. */
export const formatFlag = Flags.option({
  char: 'o',
  description: "output format (the codecs of the registry; see the README's Formats section)",
  options: CODEC_NAMES,
  default: 'pretty',
})

/**
 * --json, for every command whose answer can be one JSON document (printed by printJson in
 * ./output.ts); `description` says what the document holds.
 */
export function jsonFlag(description: string, options: {helpGroup?: string} = {}) {
  return Flags.boolean({description, ...options})
}

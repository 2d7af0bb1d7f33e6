import {AuditError} from '../errors.js'
import {sealedBlind} from '../privacy/sealed-form.js'
import {boundedJson} from '../text/sanitize.js'
import {type AuditEntry, type Level, type LocatedEntry, levelRank} from './model.js'

/** What the reading commands' filter flags ask for. */
export interface FilterSpec {
  /** Event globs (`auth.*`); an entry matches any of them. */
  events?: string[]
  /** Minimum level. */
  level?: Level
  /** Exact actors; an entry matches any of them. */
  actors?: string[]
  /** `PATH=VALUE`, `PATH!=VALUE`, `PATH~REGEX`, `PATH!~REGEX`; all must hold. */
  where?: string[]
  /** Regular expression tested against the raw line. */
  grep?: string
  /** Inclusive lower and exclusive upper bound, epoch ms. */
  since?: number
  until?: number
  /**
   * Crypto-shredding: the entry paths stored sealed (config `privacy.fields`) and the blind index of
   * each value the filter compares on them (--actor, --where PATH=VALUE / PATH!=VALUE), so that those
   * match sealed values. Plain data (it crosses to worker threads); made by the reading commands.
   */
  privacy?: {fields: string[]; blinds: Record<string, string>}
}

export class FilterError extends AuditError {}

export interface CompiledFilter {
  since?: number
  until?: number
  /**
   * A cheap test on the raw native line that may only say "cannot match": when it returns false,
   * the line need not be parsed. Undefined when the filter gives nothing to look for.
   */
  mayMatchRaw?: (raw: string) => boolean
  /** One needle group (a line can match only if it holds one of them), for skipping lines undecoded. */
  lineNeedles?: string[]
  /** The raw-line test that holds for every profile (`--grep`). */
  rawTest?: (raw: string) => boolean
  matches(located: LocatedEntry): boolean
  /**
   * matches, from an entry's time, level, event and actor alone: for a reader that knows those
   * without parsing the rest (store/count.ts). Undefined when the filter looks further (--where).
   */
  matchesHead?: (time: number, head: Pick<AuditEntry, 'level' | 'event' | 'actor'>) => boolean
}

/** Turns a glob (`*`, `?`) into an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.')
  return new RegExp(`^${body}$`)
}

function compileRegExp(source: string, flag: string): RegExp {
  try {
    return new RegExp(source)
  } catch (error) {
    throw new FilterError(`${flag} "${source}": ${(error as Error).message}`)
  }
}

/** Reads a dotted path (`details.ip`) out of an entry. */
export function getPath(object: unknown, path: string): unknown {
  let value: unknown = object
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined
    value = (value as Record<string, unknown>)[key]
  }
  return value
}

function valueText(value: unknown): string | undefined {
  if (value === undefined) return undefined
  return typeof value === 'string' ? value : boundedJson(value)
}

const WHERE = /^([A-Za-z0-9_.@-]+)\s*(!=|!~|=|~)(.*)$/s
/** Characters that JSON writes verbatim, so their presence in a value means presence in the line. */
const VERBATIM = /^[\x20-\x7e]*$/

interface Clause {
  test: (entry: unknown) => boolean
  /** A literal the raw line must contain for the clause to hold, when there is one. */
  needle?: string
}

function compileWhere(text: string, privacy: FilterSpec['privacy']): Clause {
  const m = WHERE.exec(text)
  if (!m) throw new FilterError(`--where "${text}": expected PATH=VALUE, PATH!=VALUE, PATH~REGEX or PATH!~REGEX`)
  const [, path, op, operand] = m
  const blind = privacy?.fields.includes(path) ? privacy.blinds[operand] : undefined
  // A sealed value is compared by its blind index; a plain one (written before privacy.fields) as text.
  if (blind !== undefined && (op === '=' || op === '!=')) {
    const equal = (e: unknown) => {
      const value = getPath(e, path)
      const stored = sealedBlind(value)
      return stored === undefined ? valueText(value) === operand : stored === blind
    }
    return op === '=' ? {test: equal, needle: blind} : {test: (e) => !equal(e)}
  }
  switch (op) {
    case '=':
      return {
        test: (e) => valueText(getPath(e, path)) === operand,
        // `level` is normalised on reading (`warn` -> `warning`), and a number has many spellings
        // (`1000`, `1e3`, `1000.0`), so for those the line may not hold the operand as written.
        needle:
          path !== 'level' &&
          operand !== '' &&
          !Number.isFinite(Number(operand)) &&
          VERBATIM.test(operand) &&
          !operand.includes('"') &&
          !operand.includes('\\')
            ? operand
            : undefined,
      }
    case '!=':
      return {test: (e) => valueText(getPath(e, path)) !== operand}
    case '~': {
      const re = compileRegExp(operand, `--where ${path}~`)
      return {
        test: (e) => {
          const v = valueText(getPath(e, path))
          return v !== undefined && re.test(v)
        },
      }
    }
    default: {
      const re = compileRegExp(operand, `--where ${path}!~`)
      return {
        test: (e) => {
          const v = valueText(getPath(e, path))
          return v === undefined || !re.test(v)
        },
      }
    }
  }
}

/** The longest run of a glob without wildcards, used as a raw-line needle. */
function globLiteral(glob: string): string {
  return glob.split(/[*?]/).reduce((a, b) => (b.length > a.length ? b : a), '')
}

/** A group of needles is usable when each is long enough to be selective. */
function usable(needles: string[]): string[] | undefined {
  return needles.length === 0 || needles.some((n) => n.length < 2) ? undefined : needles
}

export function compileFilter(spec: FilterSpec): CompiledFilter {
  const eventRes = spec.events?.length ? spec.events.map((g) => globToRegExp(g)) : undefined
  const minRank = spec.level ? levelRank(spec.level) : 0
  const actors = spec.actors?.length ? new Set(spec.actors) : undefined
  const sealedActors = spec.privacy?.fields.includes('actor') ? spec.privacy : undefined
  const actorBlinds = actors && sealedActors ? new Set(spec.actors?.map((a) => sealedActors.blinds[a]).filter(Boolean)) : undefined
  const actorMatches = (actor: string) => {
    const blind = actorBlinds && sealedBlind(actor)
    return blind === undefined ? actors?.has(actor) : actorBlinds?.has(blind)
  }
  const where = (spec.where ?? []).map((w) => compileWhere(w, spec.privacy))
  const grep = spec.grep === undefined ? undefined : compileRegExp(spec.grep, '--grep')
  const {since, until} = spec
  if (since !== undefined && until !== undefined && since > until) {
    throw new FilterError('--since is later than --until')
  }

  // Needle groups: each group must be satisfied (any of its needles present).
  const groups: string[][] = []
  const push = (needles: string[] | undefined) => needles && groups.push(needles)
  if (spec.events?.length) push(usable(spec.events.map((g) => globLiteral(g))))
  if (spec.actors?.length && spec.actors.every((a) => VERBATIM.test(a) && !a.includes('"') && !a.includes('\\'))) {
    push(usable([...spec.actors, ...(actorBlinds ?? [])]))
  }
  for (const clause of where) if (clause.needle) push(usable([clause.needle]))

  // A backslash means an escape may hide a needle's characters: such lines are always parsed.
  const mayMatchRaw =
    groups.length === 0 ? undefined : (raw: string) => raw.includes('\\') || groups.every((group) => group.some((n) => raw.includes(n)))

  const matchesHead = (time: number, entry: Pick<AuditEntry, 'level' | 'event' | 'actor'>): boolean => {
    if (since !== undefined && time < since) return false
    if (until !== undefined && time >= until) return false
    if (minRank > 0 && levelRank(entry.level) < minRank) return false
    if (eventRes && !eventRes.some((re) => re.test(entry.event))) return false
    if (actors && !actorMatches(entry.actor)) return false
    return true
  }

  return {
    since,
    until,
    lineNeedles: groups[0],
    mayMatchRaw,
    rawTest: grep ? (raw) => grep.test(raw) : undefined,
    matches({entry, time}) {
      if (!matchesHead(time, entry)) return false
      for (const clause of where) if (!clause.test(entry)) return false
      return true
    },
    matchesHead: where.length === 0 ? matchesHead : undefined,
  }
}

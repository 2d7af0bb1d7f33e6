import type {AuditEntry, Level} from '../events/model.js'
import {LEVELS} from '../events/model.js'
import {formatTime} from '../events/time.js'
import {groupKey} from '../privacy/sealed-form.js'

export const SLOT_MS = 15 * 60_000
/** Longer logs get no empty-day rows: a stray far-future timestamp must not make millions. */
const MAX_FILLED_DAYS = 366
/** Fields that commonly hold a client address. */
export const IP_FIELDS = ['ip', 'ip_address', 'client_ip', 'src_ip', 'remote_addr', 'source_ip']
const LATEST_FAILURES = 5

export interface FailureRef {
  timestamp: string
  event: string
  level: Level
  actor: string
  file: string
  line: number
}

const FAILED_ACTION = /\.(fail|failed|failure|denied|deny|error)(\.|$)/

/** True for a failure: an event whose action says it failed or was denied, or an entry at level error. */
export function isFailure(entry: AuditEntry): boolean {
  return entry.level === 'error' || FAILED_ACTION.test(entry.event)
}

/** Event names already tested against FAILED_ACTION: a log has few, seen again and again. */
const failedActions = new Map<string, boolean>()
const MAX_REMEMBERED_EVENTS = 4096

export function isFailedAction(event: string): boolean {
  let failed = failedActions.get(event)
  if (failed === undefined) {
    failed = FAILED_ACTION.test(event)
    if (failedActions.size < MAX_REMEMBERED_EVENTS) failedActions.set(ownCopy(event), failed)
  }
  return failed
}

/**
 * Running totals for `audit summary`. Counts merge by addition, so parts of a log can be
 * aggregated apart (in workers, or from a cache) and combined.
 */
export class SummaryAggregate {
  total = 0
  first = Number.POSITIVE_INFINITY
  last = Number.NEGATIVE_INFINITY
  failures = 0
  withModel = 0
  readonly byEvent = new Map<string, number>()
  readonly byLevel = new Map<Level, number>()
  readonly byActor = new Map<string, number>()
  readonly ips = new Set<string>()
  /** Entries per 15 minutes (epoch ms of the slot): every time zone in use is a whole number of slots off UTC. */
  readonly bySlot = new Map<number, number>()
  readonly byModel = new Map<string, number>()
  latestFailures: FailureRef[] = []
  /** The times of `latestFailures`, for the list they were read from (callers may replace it). */
  private failureTimes: {of: FailureRef[]; times: number[]} | undefined

  add(entry: AuditEntry, time: number, file: string, line: number): void {
    const details = entry.details
    for (const field of IP_FIELDS) {
      const ip = details[field]
      if (typeof ip === 'string' && ip !== '') this.ips.add(groupKey(ip))
    }
    const model = details.model
    this.addFields(time, entry.timestamp, entry.event, entry.level, entry.actor, typeof model === 'string' ? model : undefined, file, line)
  }

  /** add() for an entry read field by field (the summary scan's lean path); its IPs go to `ips` directly. */
  addFields(
    time: number,
    timestamp: string,
    event: string,
    level: Level,
    actor: string,
    model: string | undefined,
    file: string,
    line: number,
  ): void {
    this.total++
    if (time < this.first) this.first = time
    if (time > this.last) this.last = time
    bumpText(this.byEvent, event)
    bump(this.byLevel, level)
    bumpText(this.byActor, groupKey(actor))
    bump(this.bySlot, time - (time % SLOT_MS))
    if (model !== undefined && model !== '') {
      this.withModel++
      bumpText(this.byModel, model)
    }
    if (level === 'error' || isFailedAction(event)) {
      this.failures++
      this.noteFailure({timestamp, event, level, actor: groupKey(actor), file, line}, time)
    }
  }

  /** Keeps the latest failures in time order; a later one of equal time goes after (as a stable sort put it). */
  noteFailure(ref: FailureRef, time: number): void {
    const list = this.latestFailures
    if (this.failureTimes?.of !== list) this.failureTimes = {of: list, times: list.map((f) => Date.parse(f.timestamp))}
    const {times} = this.failureTimes
    if (list.length === LATEST_FAILURES && time < times[0]) return
    let at = list.length
    while (at > 0 && times[at - 1] > time) at--
    list.splice(at, 0, ref)
    times.splice(at, 0, time)
    if (list.length > LATEST_FAILURES) {
      list.shift()
      times.shift()
    }
  }

  merge(other: SummaryAggregate): void {
    this.total += other.total
    this.first = Math.min(this.first, other.first)
    this.last = Math.max(this.last, other.last)
    this.failures += other.failures
    this.withModel += other.withModel
    for (const [k, v] of other.byEvent) bump(this.byEvent, k, v)
    for (const [k, v] of other.byLevel) bump(this.byLevel, k, v)
    for (const [k, v] of other.byActor) bump(this.byActor, k, v)
    for (const [k, v] of other.bySlot) bump(this.bySlot, k, v)
    for (const [k, v] of other.byModel) bump(this.byModel, k, v)
    for (const ip of other.ips) this.ips.add(ip)
    for (const f of other.latestFailures) this.noteFailure(f, Date.parse(f.timestamp))
  }

  /** A plain-JSON form for passing between threads or caching. */
  toJSON(): SerializedAggregate {
    return {
      total: this.total,
      first: this.first,
      last: this.last,
      failures: this.failures,
      withModel: this.withModel,
      byEvent: [...this.byEvent],
      byLevel: [...this.byLevel],
      byActor: [...this.byActor],
      ips: [...this.ips],
      bySlot: [...this.bySlot],
      byModel: [...this.byModel],
      latestFailures: this.latestFailures,
    }
  }

  static fromJSON(data: SerializedAggregate): SummaryAggregate {
    const agg = new SummaryAggregate()
    agg.total = data.total
    agg.first = data.first ?? Number.POSITIVE_INFINITY
    agg.last = data.last ?? Number.NEGATIVE_INFINITY
    agg.failures = data.failures
    agg.withModel = data.withModel
    for (const [k, v] of data.byEvent) agg.byEvent.set(k, v)
    for (const [k, v] of data.byLevel) agg.byLevel.set(k, v)
    for (const [k, v] of data.byActor) agg.byActor.set(k, v)
    for (const [k, v] of data.bySlot) agg.bySlot.set(k, v)
    for (const [k, v] of data.byModel) agg.byModel.set(k, v)
    for (const ip of data.ips) agg.ips.add(ip)
    agg.latestFailures = data.latestFailures
    return agg
  }
}

export interface SerializedAggregate {
  total: number
  first: number | null
  last: number | null
  failures: number
  withModel: number
  byEvent: Array<[string, number]>
  byLevel: Array<[Level, number]>
  byActor: Array<[string, number]>
  ips: string[]
  bySlot: Array<[number, number]>
  byModel: Array<[string, number]>
  latestFailures: FailureRef[]
}

export function bump<K>(map: Map<K, number>, key: K, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by)
}

/**
 * A string of its own: a substring may be a view of the whole block of text it was cut from, and a
 * map that kept it as a key would keep the block alive, memory growing with the log.
 */
export function ownCopy(text: string): string {
  return text.length < 13 ? text : Buffer.from(text, 'utf8').toString('utf8')
}

/** bump() for a text key, stored as its own copy when it is new. */
function bumpText(map: Map<string, number>, key: string): void {
  const count = map.get(key)
  map.set(count === undefined ? ownCopy(key) : key, (count ?? 0) + 1)
}

export interface CountShare {
  name: string
  count: number
  /** Percentage of the total, 0–100, one decimal. */
  share: number
}

/** The `audit summary --json` document. */
export interface SummaryReport {
  range: {
    selected: {since: string | null; until: string | null}
    present: {first: string | null; last: string | null}
  }
  files: {read: number; names: string[]}
  total: number
  by_event: CountShare[]
  by_level: CountShare[]
  top_actors: CountShare[]
  unique_actors: number
  unique_ips: number
  failures: {total: number; error_rate: number; latest: FailureRef[]}
  peak_hour: {hour: string; count: number} | null
  per_day: Array<{day: string; count: number}>
  models: {requests: number; usage_percent: number; by_model: CountShare[]} | null
  problems: Record<string, number>
}

function percent(part: number, whole: number): number {
  return whole === 0 ? 0 : Math.round((part / whole) * 1000) / 10
}

function ranked(map: Map<string, number>, total: number, limit = Number.POSITIVE_INFINITY): CountShare[] {
  return [...map]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, limit)
    .map(([name, count]) => ({name, count, share: percent(count, total)}))
}

export interface ReportContext {
  since?: number
  until?: number
  /** First and last entry of the whole log, whatever the selection; default: those selected. */
  present?: {first?: number; last?: number}
  files: string[]
  problems: Record<string, number>
  topActors?: number
  /** Group days by the local calendar instead of UTC. */
  local?: boolean
}

export function buildReport(agg: SummaryAggregate, context: ReportContext): SummaryReport {
  const iso = (ms: number | undefined) => (ms === undefined || !Number.isFinite(ms) ? null : new Date(ms).toISOString())
  // Hours and days in the zone asked for: a slot's wall-clock minute tells where its hour starts.
  const wall = (ms: number) => (context.local ? formatTime(ms, true) : new Date(ms).toISOString())
  const byHour = new Map<number, number>()
  const perDay = new Map<string, number>()
  for (const [slot, count] of agg.bySlot) {
    const text = wall(slot)
    bump(byHour, slot - Number(text.slice(14, 16)) * 60_000, count)
    bump(perDay, text.slice(0, 10), count)
  }
  let peak: {hour: string; count: number} | null = null
  for (const [hour, count] of byHour) {
    if (!peak || count > peak.count || (count === peak.count && iso(hour)! < peak.hour)) peak = {hour: iso(hour)!, count}
  }
  // Days run from the first to the last with entries, empty ones included: a missing day shows.
  if (agg.total > 0) {
    const firstDay = Date.parse(`${wall(agg.first).slice(0, 10)}T00:00:00Z`)
    const lastDay = Date.parse(`${wall(agg.last).slice(0, 10)}T00:00:00Z`)
    if ((lastDay - firstDay) / 86_400_000 <= MAX_FILLED_DAYS) {
      for (let day = firstDay; day <= lastDay; day += 86_400_000) bump(perDay, new Date(day).toISOString().slice(0, 10), 0)
    }
  }
  return {
    range: {
      selected: {since: iso(context.since), until: iso(context.until)},
      present: context.present
        ? {first: iso(context.present.first), last: iso(context.present.last)}
        : {first: iso(agg.first), last: iso(agg.last)},
    },
    files: {read: context.files.length, names: context.files},
    total: agg.total,
    by_event: ranked(agg.byEvent, agg.total),
    by_level: LEVELS.filter((l) => agg.byLevel.has(l)).map((l) => ({
      name: l,
      count: agg.byLevel.get(l)!,
      share: percent(agg.byLevel.get(l)!, agg.total),
    })),
    top_actors: ranked(agg.byActor, agg.total, context.topActors ?? 10),
    unique_actors: agg.byActor.size,
    unique_ips: agg.ips.size,
    failures: {total: agg.failures, error_rate: percent(agg.failures, agg.total), latest: [...agg.latestFailures].reverse()},
    peak_hour: peak,
    per_day: [...perDay].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([day, count]) => ({day, count})),
    models:
      agg.withModel === 0
        ? null
        : {requests: agg.withModel, usage_percent: percent(agg.withModel, agg.total), by_model: ranked(agg.byModel, agg.withModel)},
    problems: context.problems,
  }
}

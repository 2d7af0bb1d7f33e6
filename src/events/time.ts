import {AuditError} from '../errors.js'

/**
 * Time expressions for --since/--until, in the spirit of journalctl:
 * RFC 3339, a date, `YYYY-MM-DD HH:MM[:SS]`, `@epoch`, relative (`15m`, `-3h`, `1 hour ago`),
 * `now`, `today`, `yesterday`, `this-week`, `recent`.
 * Wall-clock forms are UTC unless `local` is set.
 */

const UNIT_MS: Record<string, number> = {
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
  w: 604_800_000,
  week: 604_800_000,
  weeks: 604_800_000,
  // As systemd.time(7) and journalctl: a month is 30.44 days, a year 365.25 days.
  M: 2_629_800_000,
  mo: 2_629_800_000,
  month: 2_629_800_000,
  months: 2_629_800_000,
  y: 31_557_600_000,
  yr: 31_557_600_000,
  year: 31_557_600_000,
  years: 31_557_600_000,
}

/** The units as an error lists them. */
const UNIT_NAMES = 's, sec, second(s); m, min, minute(s); h, hr, hour(s); d, day(s); w, week(s); M, mo, month(s); y, yr, year(s)'

/** A unit as typed: `m` (minutes) and `M` (months) differ; otherwise case does not matter. */
function unitMs(unit: string): number | undefined {
  if (unit === 'M' || unit === 'm') return UNIT_MS[unit]
  const lower = unit.toLowerCase()
  return Object.hasOwn(UNIT_MS, lower) ? UNIT_MS[lower] : undefined
}

const RELATIVE = /^([+-])?\s*(\d+(?:\.\d+)?)\s*([a-z]+)(\s+ago)?$/i
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i

export class TimeExpressionError extends AuditError {}

export interface TimeOptions {
  now?: number
  /** Interpret wall-clock forms and day boundaries in the local time zone. */
  local?: boolean
}

export const RECENT_MS = 10 * 60_000

/** Midnight starting the day `ms` falls in, moved by `days` calendar days (not 24-hour steps: a local day may last 23 or 25 hours). */
function startOfDay(ms: number, local: boolean, days = 0): number {
  const d = new Date(ms)
  return local
    ? new Date(d.getFullYear(), d.getMonth(), d.getDate() + days).getTime()
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + days)
}

/** Parses a time expression into milliseconds since the epoch; throws TimeExpressionError. */
export function parseTimeExpression(input: string, options: TimeOptions = {}): number {
  const now = options.now ?? Date.now()
  const local = options.local ?? false
  const text = input.trim().toLowerCase()
  if (text === '') throw new TimeExpressionError('empty time expression')

  switch (text) {
    case 'now':
      return now
    case 'recent':
      return now - RECENT_MS
    case 'today':
      return startOfDay(now, local)
    case 'yesterday':
      return startOfDay(now, local, -1)
    case 'tomorrow':
      return startOfDay(now, local, 1)
    case 'this-week': {
      const weekday = local ? new Date(now).getDay() : new Date(now).getUTCDay()
      return startOfDay(now, local, -((weekday + 6) % 7)) // weeks start on Monday (ISO 8601)
    }
  }

  if (/^@\d+(\.\d+)?$/.test(text)) return Math.round(Number(text.slice(1)) * 1000)

  // Units keep their case: `M` is a month and `m` a minute.
  const relative = RELATIVE.exec(input.trim())
  if (relative) {
    const [, sign, amount, unit, ago] = relative
    const ms = unitMs(unit)
    if (ms === undefined) throw new TimeExpressionError(`unknown time unit "${unit}" in "${input}" (units: ${UNIT_NAMES})`)
    if (sign === '+' && ago) throw new TimeExpressionError(`"${input}" is both ahead and ago`)
    const offset = Number(amount) * ms
    // A bare duration (`3h`) means that long ago, as in `--since 3h`.
    return Math.round(sign === '+' ? now + offset : now - offset)
  }

  const dt = DATE_TIME.exec(input.trim())
  if (dt) {
    const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = dt
    const parts = [
      Number(y),
      Number(mo) - 1,
      Number(d),
      Number(h),
      Number(mi),
      Number(s),
      Math.floor(Number(`0${frac || '.0'}`) * 1000),
    ] as const
    if (parts[1] > 11 || parts[2] < 1 || parts[2] > 31 || parts[3] > 23 || parts[4] > 59 || parts[5] > 60) {
      throw new TimeExpressionError(`"${input}" is not a valid date or time`)
    }
    let ms: number
    if (zone) {
      ms = Date.UTC(...parts)
      if (zone.toUpperCase() !== 'Z') {
        const m = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!
        const offset = (Number(m[2]) * 60 + Number(m[3])) * 60_000
        ms -= m[1] === '+' ? offset : -offset
      }
    } else {
      ms = local ? new Date(...parts).getTime() : Date.UTC(...parts)
    }
    // Date rolls 2026-02-31 over into March; a calendar that does that is lying.
    const check = zone || !local ? new Date(Date.UTC(...parts)) : new Date(...parts)
    const day = zone || !local ? check.getUTCDate() : check.getDate()
    if (day !== parts[2]) throw new TimeExpressionError(`"${input}" is not a valid date`)
    return ms
  }

  throw new TimeExpressionError(
    `cannot read time "${input}" (try RFC 3339, 2026-11-02, "2026-11-02 10:00", 15m, -3h, "1 hour ago", today, yesterday, this-week, recent, now)`,
  )
}

/** Formats epoch ms as RFC 3339 with milliseconds, in UTC (`Z`) or the local zone with its offset. */
export function formatTime(ms: number, local = false): string {
  if (!local) return new Date(ms).toISOString()
  const d = new Date(ms)
  const pad = (n: number, w = 2) => String(n).padStart(w, '0')
  const offset = -d.getTimezoneOffset()
  const sign = offset >= 0 ? '+' : '-'
  const abs = Math.abs(offset)
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
}

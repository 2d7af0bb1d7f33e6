import type {Config} from '../../config/schema.js'
import type {Finding} from '../report.js'
import type {Observation} from '../observation.js'
import {type Detector, GlobSet, slug, Tally} from './detector.js'

type Settings = Config['analyze']['off_hours']

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const
const SLOT = 15 * 60_000

/** The local weekday and hour of a time in a zone; cached per 15 minutes (every zone in use is a whole number of them off UTC). */
export class ZoneClock {
  private readonly format: Intl.DateTimeFormat
  private readonly slots = new Map<number, {day: string; hour: number}>()

  constructor(zone: string) {
    this.format = new Intl.DateTimeFormat('en-US', {timeZone: zone, weekday: 'short', hour: 'numeric', hourCycle: 'h23'})
  }

  at(time: number): {day: string; hour: number} {
    const slot = time - (time % SLOT)
    let local = this.slots.get(slot)
    if (!local) {
      const parts = this.format.formatToParts(slot)
      local = {day: parts.find((p) => p.type === 'weekday')!.value.toLowerCase(), hour: Number(parts.find((p) => p.type === 'hour')!.value)}
      this.slots.set(slot, local)
    }
    return local
  }
}

/** Privileged actions (token create/revoke, config change, delete…) outside working hours, one finding per actor and event. */
export class OffHoursDetector implements Detector {
  readonly id = 'off-hours'
  private readonly events: GlobSet
  private readonly ignored: GlobSet
  private readonly clock: ZoneClock
  private readonly groups = new Map<string, Tally>()

  constructor(private readonly settings: Settings) {
    this.events = new GlobSet(settings.events)
    this.ignored = new GlobSet(settings.ignore_actors)
    this.clock = new ZoneClock(settings.timezone)
  }

  /** True outside the working days and hours. */
  offHours(time: number): boolean {
    const {day, hour} = this.clock.at(time)
    return !this.settings.days.includes(day as (typeof DAYS)[number]) || hour < this.settings.start_hour || hour >= this.settings.end_hour
  }

  observe(o: Observation): void {
    if (o.baseline || !this.events.has(o.event) || this.ignored.has(o.actor)) return
    if (!this.offHours(o.time)) return
    const key = `${o.actor}\u0000${o.event}`
    let tally = this.groups.get(key)
    if (!tally) this.groups.set(key, (tally = new Tally()))
    tally.add(o)
  }

  findings(): Finding[] {
    const {start_hour: start, end_hour: end, timezone, days} = this.settings
    return [...this.groups].map(([key, tally]) => {
      const [actor, event] = key.split('\u0000')
      const grave = /^token\.|\.delete$|permission/.test(event)
      return {
        id: `off-hours:${slug(actor)}:${event}`,
        source: this.id,
        title: `${event} by ${actor} outside working hours (${tally.count}×)`,
        severity: grave ? 'high' : 'medium',
        category: 'security',
        ...tally.fields(),
        actors: [actor],
        explanation: `${actor} performed the privileged action ${event} ${tally.count} time(s) outside working hours (${days.join(',')} ${start}:00–${end}:00 ${timezone}).`,
        recommendation: `Confirm with ${actor} that these were intended (a change window, an on-call fix); if not, revoke the session and review what changed.`,
      } satisfies Finding
    })
  }
}

import type {Config} from '../../config/schema.js'
import type {Finding} from '../report.js'
import type {Observation} from '../observation.js'
import {type Detector, GlobSet, iso, slug, Tally} from './detector.js'

type Settings = Config['analyze']['brute_force']

/** One actor's or IP's failures: the times of the last `threshold`, and what they add up to. */
interface Track {
  recent: number[]
  tally: Tally
  /** When a window first held `threshold` failures. */
  burstAt?: number
}

/** Brute force, as fail2ban counts it: at least N authentication failures from one actor or one IP within a window. */
export class BruteForceDetector implements Detector {
  readonly id = 'brute-force'
  private readonly events: GlobSet
  private readonly windowMs: number
  private readonly tracks = new Map<string, Track>()

  constructor(private readonly settings: Settings) {
    this.events = new GlobSet(settings.events)
    this.windowMs = settings.window_minutes * 60_000
  }

  observe(o: Observation): void {
    if (o.baseline || !this.events.has(o.event)) return
    this.track(`actor\u0000${o.actor}`, o)
    if (o.ip) this.track(`ip\u0000${o.ip}`, o)
  }

  private track(key: string, o: Observation): void {
    let t = this.tracks.get(key)
    if (!t) this.tracks.set(key, (t = {recent: [], tally: new Tally()}))
    t.tally.add(o)
    t.recent.push(o.time)
    if (t.recent.length > this.settings.threshold) t.recent.shift()
    if (t.burstAt === undefined && t.recent.length === this.settings.threshold && o.time - t.recent[0] <= this.windowMs) t.burstAt = o.time
  }

  findings(): Finding[] {
    const out: Finding[] = []
    for (const [key, t] of this.tracks) {
      if (t.burstAt === undefined) continue
      const [kind, who] = key.split('\u0000')
      const {threshold, window_minutes: minutes} = this.settings
      const fields = t.tally.fields()
      out.push({
        id: `brute-force:${kind}:${slug(who)}`,
        source: this.id,
        title: `Brute force: ${t.tally.count} authentication failures from ${kind === 'ip' ? 'IP' : 'actor'} ${who}`,
        severity: t.tally.count >= threshold * 5 ? 'critical' : 'high',
        category: 'security',
        ...fields,
        ...(kind === 'ip' ? {ips: [who]} : {actors: [who]}),
        explanation: `${kind === 'ip' ? 'IP' : 'Actor'} ${who} failed authentication at least ${threshold} times within ${minutes} minutes (first such burst ending ${iso(t.burstAt)}), ${t.tally.count} times in the range.`,
        recommendation:
          kind === 'ip'
            ? `Block or rate-limit ${who} (e.g. fail2ban), and check whether any login from it succeeded.`
            : `Lock or reset the account ${who}, check for a successful login after the failures, and require a second factor.`,
      })
    }
    return out
  }
}

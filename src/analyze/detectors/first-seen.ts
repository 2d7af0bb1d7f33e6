import type {Config} from '../../config/schema.js'
import type {Finding} from '../report.js'
import type {Observation} from '../observation.js'
import {type Detector, slug, Tally} from './detector.js'

type Settings = Config['analyze']['first_seen']
type Kind = 'actor' | 'ip' | 'event'

const LABEL: Record<Kind, string> = {actor: 'actor', ip: 'IP', event: 'event type'}

/** Actors, IPs and event types in the range that the baseline window never saw. */
export class FirstSeenDetector implements Detector {
  readonly id = 'first-seen'
  private readonly known: Record<Kind, Set<string>> = {actor: new Set(), ip: new Set(), event: new Set()}
  private readonly fresh: Record<Kind, Map<string, Tally>> = {actor: new Map(), ip: new Map(), event: new Map()}
  private baselineEntries = 0
  /** New values beyond max_findings per kind: counted, not detailed. */
  private readonly extra: Record<Kind, number> = {actor: 0, ip: 0, event: 0}

  constructor(private readonly settings: Settings) {}

  observe(o: Observation): void {
    if (o.baseline) this.baselineEntries++
    const {kinds} = this.settings
    for (let i = 0; i < kinds.length; i++) {
      const kind = kinds[i]
      const value = kind === 'actor' ? o.actor : kind === 'ip' ? o.ip : o.event
      if (value !== undefined) this.see(kind, value, o)
    }
  }

  private see(kind: Kind, value: string, o: Observation): void {
    const known = this.known[kind]
    if (o.baseline) {
      known.add(value)
      return
    }
    if (known.has(value)) return
    let tally = this.fresh[kind].get(value)
    if (!tally) {
      if (this.fresh[kind].size >= this.settings.max_findings) {
        this.extra[kind]++
        known.add(value)
        return
      }
      this.fresh[kind].set(value, (tally = new Tally()))
    }
    tally.add(o)
  }

  findings(): Finding[] {
    // Without a baseline everything is new, which says nothing.
    if (this.baselineEntries === 0) return []
    const out: Finding[] = []
    for (const kind of this.settings.kinds) {
      for (const [value, tally] of this.fresh[kind]) {
        out.push({
          id: `first-seen:${kind}:${slug(value)}`,
          source: this.id,
          title: `First-seen ${LABEL[kind]}: ${value}`,
          severity: kind === 'event' ? 'low' : 'medium',
          category: 'security',
          ...tally.fields(),
          ...(kind === 'actor' ? {actors: [value]} : kind === 'ip' ? {ips: [value]} : {}),
          explanation: `The ${LABEL[kind]} ${value} appears ${tally.count} time(s) in the range and never in the baseline window before it${this.extra[kind] ? ` (${this.extra[kind]} more new ${LABEL[kind]}s not listed)` : ''}.`,
          recommendation:
            kind === 'event'
              ? 'Check that the new kind of event comes from a known change (a new feature or client).'
              : `Confirm that ${value} is expected (a new colleague, a new office or VPN address); otherwise treat it as a possible intrusion.`,
        })
      }
    }
    return out
  }
}

import type {Config} from '../../config/schema.js'
import type {Evidence, Finding} from '../report.js'
import type {Observation} from '../observation.js'
import {type Detector, type DetectorContext, iso} from './detector.js'

type Settings = Config['analyze']['silence']

interface Gap {
  from: number
  to: number
  before?: Evidence
  after?: Evidence
}

const MAX_GAPS = 20

/** Silence: no entries for longer than expected, between entries of the range or up to its end. */
export class SilenceDetector implements Detector {
  readonly id = 'silence'
  private readonly maxGapMs: number
  /** The latest entry so far, kept as fields: an object for each of a million entries would be garbage. */
  private lastTime = Number.NEGATIVE_INFINITY
  private lastFile = ''
  private lastLine = 0
  private readonly gaps: Gap[] = []
  private longer = 0

  constructor(private readonly settings: Settings) {
    this.maxGapMs = settings.max_gap_minutes * 60_000
  }

  private get last(): {time: number; at: Evidence} | undefined {
    return this.lastTime === Number.NEGATIVE_INFINITY ? undefined : {time: this.lastTime, at: {file: this.lastFile, line: this.lastLine}}
  }

  observe(o: Observation): void {
    // Entries come in chain order; one stamped earlier (a clock step) does not open a gap.
    if (o.time <= this.lastTime) return
    if (this.lastTime !== Number.NEGATIVE_INFINITY && !o.baseline && o.time - this.lastTime > this.maxGapMs)
      this.gap({from: this.lastTime, to: o.time, before: this.last!.at, after: {file: o.file, line: o.line}})
    this.lastTime = o.time
    this.lastFile = o.file
    this.lastLine = o.line
  }

  private gap(gap: Gap): void {
    if (this.gaps.length < MAX_GAPS) this.gaps.push(gap)
    else this.longer++
  }

  findings(context: DetectorContext): Finding[] {
    // The quiet end of the range: up to --until, or now when the range runs to now.
    const end = context.until ?? context.now
    const from = this.last?.time ?? context.since
    if (from !== undefined && end - from > this.maxGapMs) this.gap({from, to: end, before: this.last?.at})
    return this.gaps.map((g) => {
      const minutes = Math.round((g.to - g.from) / 60_000)
      const evidence = [g.before, g.after].filter((e): e is Evidence => e !== undefined)
      return {
        id: `silence:${iso(g.from)}`,
        source: this.id,
        title: g.after ? `Silence: no entries for ${minutes} minutes` : `Silence: no entries since ${iso(g.from)} (${minutes} minutes)`,
        severity: minutes >= this.settings.max_gap_minutes * 6 ? 'high' : 'medium',
        category: 'reliability',
        count: 0,
        first_seen: iso(g.from),
        last_seen: iso(g.to),
        actors: [],
        ips: [],
        evidence,
        explanation: `Nothing was logged from ${iso(g.from)} to ${iso(g.to)}, longer than the ${this.settings.max_gap_minutes} minutes expected${this.longer ? ` (${this.longer} more gaps not listed)` : ''}.`,
        recommendation:
          'Check that the writers were running and could write (disk full, a stopped service, a clock step, logging turned off), and whether entries were removed.',
      } satisfies Finding
    })
  }
}

import type {Config} from '../../config/schema.js'
import type {Evidence, Finding} from '../report.js'
import type {Observation} from '../observation.js'
import {type Detector, iso, MAX_EVIDENCE} from './detector.js'

type Settings = Config['analyze']['error_spike']

interface Window {
  total: number
  failures: number
  evidence: Evidence[]
  events: Map<string, number>
}

/** Error-rate spike: a window whose share of failures is high and well above the usual share. */
export class ErrorSpikeDetector implements Detector {
  readonly id = 'error-spike'
  private readonly windowMs: number
  private total = 0
  private failures = 0
  private readonly windows = new Map<number, Window>()

  constructor(private readonly settings: Settings) {
    this.windowMs = settings.window_minutes * 60_000
  }

  observe(o: Observation): void {
    this.total++
    if (o.failure) this.failures++
    if (o.baseline) return
    const start = o.time - (o.time % this.windowMs)
    let w = this.windows.get(start)
    if (!w) this.windows.set(start, (w = {total: 0, failures: 0, evidence: [], events: new Map()}))
    w.total++
    if (!o.failure) return
    w.failures++
    if (w.evidence.length < MAX_EVIDENCE) w.evidence.push({file: o.file, line: o.line})
    if (w.events.size < 50 || w.events.has(o.event)) w.events.set(o.event, (w.events.get(o.event) ?? 0) + 1)
  }

  findings(): Finding[] {
    const usual = this.total ? this.failures / this.total : 0
    const out: Finding[] = []
    const {min_errors: minErrors, min_ratio: minRatio, factor} = this.settings
    for (const [start, w] of [...this.windows].sort((a, b) => a[0] - b[0])) {
      const ratio = w.failures / w.total
      if (w.failures < minErrors || ratio < minRatio || ratio < usual * factor) continue
      const top = [...w.events]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3)
        .map(([e, n]) => `${e} (${n})`)
      const pct = (x: number) => `${(x * 100).toFixed(1)}%`
      out.push({
        id: `error-spike:${iso(start)}`,
        source: this.id,
        title: `Error-rate spike: ${pct(ratio)} failures in ${this.settings.window_minutes} minutes (usual ${pct(usual)})`,
        severity: ratio >= 0.75 ? 'high' : 'medium',
        category: 'reliability',
        count: w.failures,
        first_seen: iso(start),
        last_seen: iso(start + this.windowMs - 1),
        actors: [],
        ips: [],
        evidence: w.evidence,
        explanation: `${w.failures} of ${w.total} entries from ${iso(start)} were failures (${pct(ratio)}, against ${pct(usual)} overall); mostly ${top.join(', ')}.`,
        recommendation:
          'Look at the first failures of the window for the cause (a failing dependency, a bad deploy, a model that is missing) and at what changed just before.',
      })
    }
    return out
  }
}

import type {Config} from '../../config/schema.js'
import type {Evidence, Finding} from '../report.js'
import type {Observation} from '../observation.js'
import {type Detector, iso, MAX_EVIDENCE} from './detector.js'

type Settings = Config['analyze']['rate_spike']

const MINUTE = 60_000

interface Minute {
  count: number
  evidence: Evidence[]
  actors: Map<string, number>
}

export function median(values: number[]): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Request-rate spike: minutes with at least min_per_minute entries and `factor` times the median minute (baseline and range). */
export class RateSpikeDetector implements Detector {
  readonly id = 'rate-spike'
  /** Entries per minute over everything read (the baseline too). */
  private readonly perMinute = new Map<number, number>()
  /** Details of the range's minutes that have reached min_per_minute. */
  private readonly busy = new Map<number, Minute>()
  /** The current minute's first entries, kept until it is known whether it is busy. */
  private open?: {minute: number; evidence: Evidence[]}
  /** The minute of the latest entry and its count so far, written to perMinute when another minute comes. */
  private minute: number | undefined
  private count = 0

  constructor(private readonly settings: Settings) {}

  observe(o: Observation): void {
    const minute = o.time - (o.time % MINUTE)
    if (minute !== this.minute) {
      this.settle()
      this.minute = minute
      this.count = this.perMinute.get(minute) ?? 0
    }
    const count = ++this.count
    if (o.baseline) return
    if (this.open?.minute !== minute) this.open = {minute, evidence: []}
    if (this.open.evidence.length < MAX_EVIDENCE) this.open.evidence.push({file: o.file, line: o.line})
    if (count < this.settings.min_per_minute) return
    let busy = this.busy.get(minute)
    if (!busy) this.busy.set(minute, (busy = {count: 0, evidence: this.open.evidence, actors: new Map()}))
    busy.actors.set(o.actor, (busy.actors.get(o.actor) ?? 0) + 1)
  }

  private settle(): void {
    if (this.minute !== undefined) this.perMinute.set(this.minute, this.count)
  }

  findings(): Finding[] {
    this.settle()
    // Minutes without entries count too: a quiet log's usual minute is 0 or 1.
    const times = [...this.perMinute.keys()]
    if (times.length === 0) return []
    const span = Math.max(1, (Math.max(...times) - Math.min(...times)) / MINUTE + 1)
    const counts = [...this.perMinute.values()]
    while (counts.length < span) counts.push(0)
    const usual = Math.max(1, median(counts))
    const spikes = [...this.busy.keys()].sort((a, b) => a - b).filter((m) => this.perMinute.get(m)! >= this.settings.factor * usual)
    // Consecutive spike minutes make one finding.
    const out: Finding[] = []
    for (let i = 0; i < spikes.length; ) {
      let j = i
      while (j + 1 < spikes.length && spikes[j + 1] === spikes[j] + MINUTE) j++
      const run = spikes.slice(i, j + 1)
      const total = run.reduce((n, m) => n + this.perMinute.get(m)!, 0)
      const peak = Math.max(...run.map((m) => this.perMinute.get(m)!))
      const actors = new Map<string, number>()
      for (const m of run) for (const [a, n] of this.busy.get(m)!.actors) actors.set(a, (actors.get(a) ?? 0) + n)
      const top = [...actors]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([a]) => a)
      out.push({
        id: `rate-spike:${iso(run[0])}`,
        source: this.id,
        title: `Request-rate spike: ${peak} entries a minute (usual ${usual})`,
        severity: peak >= usual * this.settings.factor * 4 ? 'high' : 'medium',
        category: 'performance',
        count: total,
        first_seen: iso(run[0]),
        last_seen: iso(run.at(-1)! + MINUTE - 1),
        actors: top,
        ips: [],
        evidence: this.busy.get(run[0])!.evidence,
        explanation: `${run.length} minute(s) from ${iso(run[0])} held ${total} entries, peaking at ${peak} a minute against a median of ${usual}; most from ${top.join(', ')}.`,
        recommendation:
          'Check whether the load is expected (a batch job, a release); otherwise rate-limit the busiest actors and look for a runaway client or abuse.',
      })
      i = j + 1
    }
    return out
  }
}

import {globToRegExp} from '../../events/filter.js'
import type {Evidence, Finding} from '../report.js'
import type {Observation} from '../observation.js'

/** What a detector knows when asked for its findings. */
export interface DetectorContext {
  /** Start of the analysed range (entries before it are the baseline); undefined: everything is the range. */
  since?: number
  /** End of the range; undefined: now (`now`). */
  until?: number
  now: number
}

/** A detector sees every observation once, in order, then says what it found. Memory stays bounded. */
export interface Detector {
  readonly id: string
  observe(o: Observation): void
  findings(context: DetectorContext): Finding[] | Promise<Finding[]>
}

export const MAX_EVIDENCE = 10

export const iso = (ms: number): string => new Date(ms).toISOString()

/** Collects what a finding reports about a group of observations, keeping the first evidence. */
export class Tally {
  count = 0
  first = Number.POSITIVE_INFINITY
  last = Number.NEGATIVE_INFINITY
  readonly actors = new Set<string>()
  readonly ips = new Set<string>()
  readonly evidence: Evidence[] = []

  add(o: Observation): void {
    this.count++
    if (o.time < this.first) this.first = o.time
    if (o.time > this.last) this.last = o.time
    if (this.actors.size < 20) this.actors.add(o.actor)
    if (o.ip && this.ips.size < 20) this.ips.add(o.ip)
    if (this.evidence.length < MAX_EVIDENCE) this.evidence.push({file: o.file, line: o.line})
  }

  /** The common fields of a finding. */
  fields(): Pick<Finding, 'count' | 'first_seen' | 'last_seen' | 'actors' | 'ips' | 'evidence'> {
    return {
      count: this.count,
      first_seen: this.count ? iso(this.first) : null,
      last_seen: this.count ? iso(this.last) : null,
      actors: [...this.actors],
      ips: [...this.ips],
      evidence: this.evidence,
    }
  }
}

/** A stable id part from free text. */
export const slug = (text: string): string =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9.:-]+/g, '-')
    .slice(0, 60)

/** Most answers a GlobSet keeps; past that it starts over (a hostile log may hold millions of names). */
const MAX_REMEMBERED = 10_000

/** Whether a value matches any of some globs, remembered per value: a log repeats a few event names a million times. */
export class GlobSet {
  private readonly patterns: RegExp[]
  private readonly answers = new Map<string, boolean>()

  constructor(globs: string[]) {
    this.patterns = globs.map(globToRegExp)
  }

  get empty(): boolean {
    return this.patterns.length === 0
  }

  has(value: string): boolean {
    let answer = this.answers.get(value)
    if (answer === undefined) {
      if (this.answers.size >= MAX_REMEMBERED) this.answers.clear()
      answer = this.patterns.some((re) => re.test(value))
      this.answers.set(value, answer)
    }
    return answer
  }
}

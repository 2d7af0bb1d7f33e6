import type {Config} from '../config/schema.js'
import type {Level} from '../events/model.js'
import type {VerifyProblem} from '../integrity/verify/index.js'
import {Diagnostics} from '../store/diagnostics.js'
import type {Detector} from './detectors/detector.js'
import {makeDetectors} from './detectors/index.js'
import type {Observation} from './observation.js'
import {type AnalyzeReport, type Finding, severityRank} from './report.js'
import {fieldOf, sampleText, type SourceItem, templateOf} from './sources.js'

const HOUR = 3_600_000
/** Most message templates kept for the LLM sample (one entry each). */
const MAX_TEMPLATES = 2000
const TOP = 10
/** Most distinct values kept per --redact path. */
const MAX_REDACTED_VALUES = 20_000

/** An entry shown to the LLM: where it is (its evidence reference), and a short text. */
export interface SampleEntry {
  ref: string
  template: string
  level: Level
  failure: boolean
  text: string
}

/** What a range adds up to: the report's totals, the LLM's sample, the values to redact. */
export interface Analysis {
  report: AnalyzeReport
  sample: SampleEntry[]
  /** Entries counted per template (the sample's weight). */
  templateCounts: Map<string, number>
  redactValues: Set<string>
}

export interface AnalyzeOptions {
  settings: Config['analyze']
  /** The log directory, for the integrity detector; undefined for other sources. */
  dir?: string
  source: string
  since?: number
  until?: number
  baselineSince?: number
  now: number
  diagnostics?: Diagnostics
  /** Field paths whose values never leave the process (--redact). */
  redact?: string[]
  notes?: string[]
}

/** Runs every detector over the items, in one pass, and builds the report (without the LLM part). */
export async function analyzeItems(batches: AsyncIterable<SourceItem[]>, options: AnalyzeOptions): Promise<Analysis> {
  const analyzer = new Analyzer(options)
  for await (const batch of batches) for (const item of batch) analyzer.item(item)
  return analyzer.finish()
}

/**
 * The detectors and the report's totals over entries given one at a time, in order: as items
 * (item), or as `observation` filled in by the caller (entry, template, sample).
 */
export class Analyzer {
  /** One object reused: detectors copy what they keep. */
  readonly observation: Observation = {time: 0, event: '', level: 'info', actor: '', failure: false, file: '', line: 0, baseline: false}
  private readonly diagnostics: Diagnostics
  private readonly detectors: Detector[]
  private readonly since: number
  private readonly byLevel = new Map<string, number>()
  private readonly byEvent = new Map<string, number>()
  private readonly byActor = new Map<string, number>()
  private readonly byHour = new Map<number, {count: number; failures: number}>()
  private readonly samples = new Map<string, SampleEntry>()
  private readonly templateCounts = new Map<string, number>()
  private readonly redactValues = new Set<string>()
  private entries = 0
  private baselineEntries = 0
  private failures = 0

  /** `verified`: the range's verify result, when its reading already verifies the chain (see IntegrityDetector). */
  constructor(
    private readonly options: AnalyzeOptions,
    verified?: Promise<VerifyProblem[] | Error>,
  ) {
    this.diagnostics = options.diagnostics ?? new Diagnostics()
    this.detectors = makeDetectors(options.settings, {dir: options.dir, diagnostics: this.diagnostics, verified})
    this.since = options.since ?? Number.NEGATIVE_INFINITY
  }

  item(item: SourceItem): void {
    const o = this.observation
    o.time = item.time
    o.event = item.event
    o.level = item.level
    o.actor = item.actor
    o.ip = item.ip
    o.model = item.model
    o.failure = item.failure
    o.file = item.file
    o.line = item.line
    if (!this.entry()) return
    const template = templateOf(item)
    if (this.template(template)) this.sample(template, sampleText(item))
    for (const path of this.options.redact ?? []) {
      const value = fieldOf(item, path)
      if (
        (typeof value === 'string' || typeof value === 'number') &&
        String(value).length >= 2 &&
        this.redactValues.size < MAX_REDACTED_VALUES
      )
        this.redactValues.add(String(value))
    }
  }

  /** The observation (all but `baseline`, set here) to the detectors and the totals; true when it is in the analysed range. */
  entry(): boolean {
    const o = this.observation
    const baseline = o.time < this.since
    o.baseline = baseline
    for (const detector of this.detectors) detector.observe(o)
    if (baseline) {
      this.baselineEntries++
      return false
    }
    this.entries++
    if (o.failure) this.failures++
    bump(this.byLevel, o.level)
    bump(this.byEvent, o.event)
    bump(this.byActor, o.actor)
    const hour = o.time - (o.time % HOUR)
    const slot = this.byHour.get(hour) ?? {count: 0, failures: 0}
    slot.count++
    if (o.failure) slot.failures++
    this.byHour.set(hour, slot)
    return true
  }

  /** Counts the entry's template; true when it is new and kept: then the caller gives its sample. */
  template(template: string): boolean {
    const seen = this.templateCounts.get(template)
    if (seen !== undefined) this.templateCounts.set(template, seen + 1)
    else if (this.templateCounts.size < MAX_TEMPLATES) {
      this.templateCounts.set(template, 1)
      return true
    }
    return false
  }

  /** The sample of a new template: the observation's entry, shown as `text`. */
  sample(template: string, text: string): void {
    const o = this.observation
    this.samples.set(template, {ref: `${o.file}:${o.line}`, template, level: o.level, failure: o.failure, text})
  }

  async finish(): Promise<Analysis> {
    const {options, diagnostics} = this
    const context = {since: options.since, until: options.until, now: options.now}
    const findings: Finding[] = []
    for (const detector of this.detectors) findings.push(...(await detector.findings(context)))
    sortFindings(findings)

    const top = (map: Map<string, number>) =>
      [...map]
        .sort((a, b) => b[1] - a[1])
        .slice(0, TOP)
        .map(([name, count]) => ({name, count}))
    const iso = (ms: number | undefined) => (ms === undefined || !Number.isFinite(ms) ? null : new Date(ms).toISOString())
    const report: AnalyzeReport = {
      generated_at: new Date(options.now).toISOString(),
      source: options.source,
      range: {since: iso(options.since), until: iso(options.until), baseline_since: iso(options.baselineSince)},
      totals: {
        entries: this.entries,
        baseline_entries: this.baselineEntries,
        failures: this.failures,
        unreadable_lines: diagnostics.total,
        by_level: Object.fromEntries(this.byLevel),
        top_events: top(this.byEvent),
        top_actors: top(this.byActor),
        by_hour: [...this.byHour].sort((a, b) => a[0] - b[0]).map(([hour, v]) => ({hour: new Date(hour).toISOString(), ...v})),
      },
      findings,
      llm: {status: 'skipped', reason: 'not run', calls: 0, dropped_findings: 0},
      notes: [...(options.notes ?? [])],
    }
    return {report, sample: [...this.samples.values()], templateCounts: this.templateCounts, redactValues: this.redactValues}
  }
}

/** Most severe first, then by detector and time. */
export function sortFindings(findings: Finding[]): void {
  findings.sort(
    (a, b) =>
      severityRank(b.severity) - severityRank(a.severity) ||
      (a.first_seen ?? '').localeCompare(b.first_seen ?? '') ||
      a.id.localeCompare(b.id),
  )
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1)
}

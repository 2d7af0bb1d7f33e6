import type {Config} from '../config/schema.js'
import type {Level} from '../events/model.js'
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
  const diagnostics = options.diagnostics ?? new Diagnostics()
  const detectors: Detector[] = makeDetectors(options.settings, {dir: options.dir, diagnostics})
  const since = options.since ?? Number.NEGATIVE_INFINITY
  const byLevel = new Map<string, number>()
  const byEvent = new Map<string, number>()
  const byActor = new Map<string, number>()
  const byHour = new Map<number, {count: number; failures: number}>()
  const samples = new Map<string, SampleEntry>()
  const templateCounts = new Map<string, number>()
  const redactValues = new Set<string>()
  let entries = 0
  let baselineEntries = 0
  let failures = 0

  const observation: Observation = {time: 0, event: '', level: 'info', actor: '', failure: false, file: '', line: 0, baseline: false}
  for await (const batch of batches)
    for (const item of batch) {
      const baseline = item.time < since
      // One object reused: detectors copy what they keep.
      observation.time = item.time
      observation.event = item.event
      observation.level = item.level
      observation.actor = item.actor
      observation.ip = item.ip
      observation.model = item.model
      observation.failure = item.failure
      observation.file = item.file
      observation.line = item.line
      observation.baseline = baseline
      for (const detector of detectors) detector.observe(observation)
      if (baseline) {
        baselineEntries++
        continue
      }
      entries++
      if (item.failure) failures++
      bump(byLevel, item.level)
      bump(byEvent, item.event)
      bump(byActor, item.actor)
      const hour = item.time - (item.time % HOUR)
      const slot = byHour.get(hour) ?? {count: 0, failures: 0}
      slot.count++
      if (item.failure) slot.failures++
      byHour.set(hour, slot)
      const template = templateOf(item)
      const seen = templateCounts.get(template)
      if (seen !== undefined) templateCounts.set(template, seen + 1)
      else if (templateCounts.size < MAX_TEMPLATES) {
        templateCounts.set(template, 1)
        samples.set(template, {
          ref: `${item.file}:${item.line}`,
          template,
          level: item.level,
          failure: item.failure,
          text: sampleText(item),
        })
      }
      for (const path of options.redact ?? []) {
        const value = fieldOf(item, path)
        if (
          (typeof value === 'string' || typeof value === 'number') &&
          String(value).length >= 2 &&
          redactValues.size < MAX_REDACTED_VALUES
        )
          redactValues.add(String(value))
      }
    }

  const context = {since: options.since, until: options.until, now: options.now}
  const findings: Finding[] = []
  for (const detector of detectors) findings.push(...(await detector.findings(context)))
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
      entries,
      baseline_entries: baselineEntries,
      failures,
      unreadable_lines: diagnostics.total,
      by_level: Object.fromEntries(byLevel),
      top_events: top(byEvent),
      top_actors: top(byActor),
      by_hour: [...byHour].sort((a, b) => a[0] - b[0]).map(([hour, v]) => ({hour: new Date(hour).toISOString(), ...v})),
    },
    findings,
    llm: {status: 'skipped', reason: 'not run', calls: 0, dropped_findings: 0},
    notes: [...(options.notes ?? [])],
  }
  return {report, sample: [...samples.values()], templateCounts, redactValues}
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

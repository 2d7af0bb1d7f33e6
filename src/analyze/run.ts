import {homedir} from 'node:os'
import {join} from 'node:path'

import type {Config} from '../config/schema.js'
import type {FilterSpec} from '../events/filter.js'
import type {Profile} from '../events/model.js'
import {Diagnostics} from '../store/diagnostics.js'
import {defaultRange} from '../summary/summarize.js'
import {type AnalyzeOptions, analyzeItems, sortFindings} from './analyze.js'
import {analyzeLogFused} from './fused.js'
import type {PromptName} from './llm/prompts.js'
import {lokiItems} from './loki.js'
import {type AnalyzeReport, reportSchema} from './report.js'
import {logItems, type SourceItem, textItems, timeOnly} from './sources.js'

const DAY = 86_400_000
const LOKI_DEFAULT_MS = 3_600_000

export interface RunOptions {
  config: Config
  filter: FilterSpec
  profile?: Profile
  now: number
  input?: string
  loki?: {url: string; query: string}
  llm?: {host: string; model: string; prompt: PromptName; numCtx: number; timeoutMs: number}
  redact?: string[]
}

export interface RunResult {
  report: AnalyzeReport
  diagnostics: Diagnostics
}

/** Reads the source, runs the detectors and (unless told not to) the LLM, and returns the validated report. */
export async function runAnalyze(options: RunOptions): Promise<RunResult> {
  const {config, now} = options
  const settings = config.analyze
  const diagnostics = new Diagnostics()
  const notes: string[] = []
  let since = options.filter.since
  let until = options.filter.until
  let items: AsyncIterable<SourceItem[]>
  let source: string
  /** The audit log with only a time range: read in one pass with its verification (fused.ts). */
  let fusable = false
  const baselineMs = settings.baseline_days * DAY
  if (options.loki) {
    since ??= now - LOKI_DEFAULT_MS
    until ??= now
    source = `loki ${options.loki.query}`
    items = lokiItems({...options.loki, since: since - baselineMs, until, now}, diagnostics)
  } else if (options.input) {
    source = options.input === '-' ? 'standard input' : options.input
    items = textItems(options.input, {...options.filter, since: undefined}, now, diagnostics)
  } else {
    if (since === undefined) {
      const range = await defaultRange(config.dir, now, options.profile)
      since = until === undefined ? range.since : until - DAY
      if (until === undefined && range.logEnded) {
        until = range.until
        notes.push('the log ended more than a day ago: the range is its last 24 hours')
      }
    }
    source = config.dir
    fusable = timeOnly(options.filter) && options.profile !== 'loki' && settings.integrity.enabled && !options.redact?.length
    items = logItems(config.dir, {...options.filter, since: since - baselineMs, until}, options.profile, diagnostics)
  }
  const baselineSince = since === undefined ? undefined : since - baselineMs
  const analyzeOptions: AnalyzeOptions = {
    settings,
    dir: options.input || options.loki ? undefined : config.dir,
    source,
    since,
    until,
    baselineSince,
    now,
    diagnostics,
    redact: options.redact,
    notes,
  }
  const analysis =
    (fusable ? await analyzeLogFused(config.dir, {since: baselineSince, until}, options.profile, analyzeOptions) : undefined) ??
    (await analyzeItems(items, analyzeOptions))
  const report = analysis.report
  if (!options.llm) {
    report.llm = {status: 'skipped', reason: '--no-llm', calls: 0, dropped_findings: 0}
  } else {
    const {host, model, prompt, numCtx, timeoutMs} = options.llm
    // Loaded only for an LLM run: --no-llm (a timer's detectors) skips the ollama client's start-up.
    const [{askModel}, {makeOllamaClient}] = await Promise.all([import('./llm/llm.js'), import('./llm/client.js')])
    const result = await askModel(analysis, {
      client: makeOllamaClient(host, timeoutMs),
      host,
      model,
      prompt,
      numCtx,
      seed: settings.llm.seed,
      timeoutMs,
      redact: analysis.redactValues,
    })
    report.llm = result.ok
      ? {status: 'ok', model, prompt, calls: result.calls, dropped_findings: result.dropped, summary: result.summary}
      : {status: 'failed', reason: result.reason, model, prompt, calls: result.calls, dropped_findings: result.dropped}
    report.notes.push(...result.notes)
    report.findings.push(...result.findings)
    sortFindings(report.findings)
  }
  return {report: reportSchema.parse(report), diagnostics}
}

/** Where the alert dedup state lives by default. */
export function defaultStatePath(): string {
  return join(process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'auditkit', 'analyze-alerts.json')
}

import type {Ollama} from 'ollama'
import {z} from 'zod'

import type {Analysis, SampleEntry} from '../analyze.js'
import {slug} from '../detectors/detector.js'
import {type Finding, findingSchema} from '../report.js'
import {describeOllamaError, quietly} from './client.js'
import {type PromptName, readPrompt} from './prompts.js'

/** What the model must answer: its findings are the report's, with evidence as `file:line` refs. */
export const llmFindingSchema = findingSchema
  .pick({title: true, severity: true, category: true, actors: true, ips: true, explanation: true, recommendation: true})
  .extend({evidence: z.array(z.string()).max(10)})
export const llmAnswerSchema = z.object({summary: z.string(), findings: z.array(llmFindingSchema).max(20)})
export type LlmAnswer = z.infer<typeof llmAnswerSchema>

/** ~4 characters a token (no tokenizer in the native API), plus a tenth for safety. */
export const estimateTokens = (text: string): number => Math.ceil((text.length / 4) * 1.1)

export interface LlmOptions {
  client: Ollama
  host: string
  model: string
  prompt: PromptName
  numCtx: number
  seed: number
  timeoutMs: number
  /** Field values that must not leave the process. */
  redact: Set<string>
  /** Most calls for the sample parts (then a merge call). */
  maxChunks?: number
}

export interface LlmResult {
  ok: boolean
  reason?: string
  summary?: string
  findings: Finding[]
  dropped: number
  calls: number
  notes: string[]
}

/** A call failed in a way less input may fix (cut output, invalid JSON). */
class RetryableAnswer extends Error {}

/** Asks the model about the range: in one call, or in parts and a merge call when the sample is larger than the context. */
export async function askModel(analysis: Analysis, options: LlmOptions): Promise<LlmResult> {
  const result: LlmResult = {ok: false, findings: [], dropped: 0, calls: 0, notes: []}
  const schema = z.toJSONSchema(llmAnswerSchema)
  const schemaText = JSON.stringify(schema)
  const numPredict = Math.min(2048, Math.floor(options.numCtx / 4))
  const system = `${readPrompt(options.prompt)}\n${schemaText}\n`
  const context = contextOf(analysis)
  const fixed = estimateTokens(system) + estimateTokens(JSON.stringify(context)) + numPredict + 64
  const budget = options.numCtx - fixed
  if (budget < 200) {
    result.reason = `--num-ctx ${options.numCtx} leaves no room for the input (about ${fixed} tokens are needed before any sample entry)`
    return result
  }
  const ordered = orderSample(analysis)
  const chunks = chunk(ordered, budget)
  const maxChunks = options.maxChunks ?? 8
  if (chunks.length > maxChunks) {
    const kept = chunks.slice(0, maxChunks).reduce((n, c) => n + c.length, 0)
    result.notes.push(
      `the LLM saw ${kept} of ${ordered.length} sample entries (errors and warnings first): the rest did not fit in ${maxChunks} calls of --num-ctx ${options.numCtx}`,
    )
    chunks.length = maxChunks
  }
  const call = async (systemText: string, input: unknown): Promise<LlmAnswer> => {
    const user = redactText(JSON.stringify(input), options.redact)
    result.calls++
    const response = await quietly(() =>
      options.client.chat({
        model: options.model,
        messages: [
          {role: 'system', content: systemText},
          {role: 'user', content: user},
        ],
        format: schema,
        stream: false,
        options: {temperature: 0, seed: options.seed, num_ctx: options.numCtx, num_predict: numPredict},
      }),
    )
    // The server cuts an overlong prompt silently (HTTP 200); its count of the tokens fed tells.
    const estimate = estimateTokens(systemText) + estimateTokens(user)
    if (response.prompt_eval_count && response.prompt_eval_count < estimate / 2) {
      result.notes.push(
        `LLM: the server read ${response.prompt_eval_count} prompt tokens of about ${estimate} sent: it probably truncated the input (its context is smaller than --num-ctx ${options.numCtx}?)`,
      )
    }
    if (response.done_reason === 'length') throw new RetryableAnswer('the answer was cut at the length limit (done_reason "length")')
    let parsed: unknown
    try {
      parsed = JSON.parse(response.message.content)
    } catch {
      throw new RetryableAnswer('the answer was not valid JSON')
    }
    const checked = llmAnswerSchema.safeParse(parsed)
    if (!checked.success)
      throw new RetryableAnswer(
        `the answer did not match the schema (${checked.error.issues[0]?.path.join('.') || 'root'}: ${checked.error.issues[0]?.message})`,
      )
    return checked.data
  }
  /** One call, then once more with half the sample if the answer was cut or invalid. */
  const withRetry = async (systemText: string, part: SampleEntry[]): Promise<{answer: LlmAnswer; refs: Set<string>}> => {
    const refsOf = (entries: SampleEntry[]) =>
      new Set([...entries.map((e) => e.ref), ...context.detector_findings.flatMap((f) => f.evidence)])
    try {
      const refs = refsOf(part)
      return {answer: await call(systemText, {...context, sample: part.map(sampleView(analysis))}), refs}
    } catch (error) {
      if (!(error instanceof RetryableAnswer)) throw error
      const less = part.slice(0, Math.floor(part.length / 2))
      result.notes.push(`LLM: ${error.message}; asked again with ${less.length} of ${part.length} sample entries`)
      const refs = refsOf(less)
      return {answer: await call(systemText, {...context, sample: less.map(sampleView(analysis))}), refs}
    }
  }
  try {
    const parts: Array<{answer: LlmAnswer; refs: Set<string>}> = []
    for (const part of chunks.length ? chunks : [[]]) parts.push(await withRetry(system, part))
    let final = parts[0]
    if (parts.length > 1) {
      const kept = parts.map((p) => keepCited(p.answer, p.refs, result))
      const refs = new Set(kept.flatMap((a) => a.findings.flatMap((f) => f.evidence)))
      const mergeSystem = `${readPrompt('merge')}\n${schemaText}\n`
      const answer = await call(mergeSystem, {...context, partial_analyses: kept})
      final = {answer, refs: new Set([...refs, ...context.detector_findings.flatMap((f) => f.evidence)])}
    }
    const cited = keepCited(final.answer, final.refs, result)
    result.ok = true
    result.summary = cited.summary
    result.findings = cited.findings.map((f) => ({
      ...f,
      id: `llm:${slug(normaliseTitle(f.title))}`,
      source: 'llm',
      count: f.evidence.length,
      first_seen: null,
      last_seen: null,
      evidence: f.evidence.map(parseRef),
    }))
  } catch (error) {
    result.reason =
      error instanceof RetryableAnswer
        ? `${error.message}, again after a retry with less input; the LLM part was given up`
        : describeOllamaError(error, {host: options.host, model: options.model, timeoutMs: options.timeoutMs})
  }
  return result
}

/** Drops evidence the input did not hold, and findings left with none (counted). */
function keepCited(answer: LlmAnswer, refs: Set<string>, result: LlmResult): LlmAnswer {
  const findings = []
  for (const f of answer.findings) {
    const evidence = [...new Set(f.evidence.map((e) => e.trim()))].filter((e) => refs.has(e) && parseRef(e).line > 0)
    if (evidence.length === 0) result.dropped++
    else findings.push({...f, evidence})
  }
  return {summary: answer.summary, findings}
}

function parseRef(ref: string): {file: string; line: number} {
  const at = ref.lastIndexOf(':')
  return {file: ref.slice(0, at), line: Number(ref.slice(at + 1)) || 0}
}

/** Titles compared for dedup: lower case, numbers and punctuation folded. */
export function normaliseTitle(title: string): string {
  return title
    .toLowerCase()
    .replace(/\d+/g, '#')
    .replace(/[^a-z#]+/g, ' ')
    .trim()
}

/** The part of the input every call gets: range, aggregates, the detectors' findings. */
function contextOf(analysis: Analysis) {
  const {report} = analysis
  const hours = report.totals.by_hour
  return {
    range: report.range,
    totals: {
      entries: report.totals.entries,
      failures: report.totals.failures,
      unreadable_lines: report.totals.unreadable_lines,
      by_level: report.totals.by_level,
      top_events: report.totals.top_events,
      top_actors: report.totals.top_actors,
      // The busiest hours only: a long range must not fill the context with its histogram.
      busiest_hours: [...hours].sort((a, b) => b.count - a.count).slice(0, 12),
    },
    detector_findings: report.findings
      .map((f) => ({
        title: f.title,
        severity: f.severity,
        category: f.category,
        count: f.count,
        actors: f.actors.slice(0, 5),
        ips: f.ips.slice(0, 5),
        evidence: f.evidence.slice(0, 3).map((e) => `${e.file}:${e.line}`),
      }))
      .slice(0, 40),
  }
}

/** Errors, then warnings, then other failures, then the rest; the commonest templates first within each. */
function orderSample(analysis: Analysis): SampleEntry[] {
  const rank = (e: SampleEntry) => (e.level === 'error' ? 0 : e.level === 'warning' ? 1 : e.failure ? 2 : 3)
  const weight = (e: SampleEntry) => analysis.templateCounts.get(e.template) ?? 1
  return [...analysis.sample].sort((a, b) => rank(a) - rank(b) || weight(b) - weight(a))
}

const sampleView = (analysis: Analysis) => (e: SampleEntry) => ({
  ref: e.ref,
  same_template: analysis.templateCounts.get(e.template) ?? 1,
  entry: e.text,
})

/** Splits the ordered sample into parts that each fit the token budget. */
function chunk(entries: SampleEntry[], budget: number): SampleEntry[][] {
  const out: SampleEntry[][] = []
  let current: SampleEntry[] = []
  let used = 0
  for (const e of entries) {
    const cost = estimateTokens(e.text) + 16
    if (used + cost > budget && current.length) {
      out.push(current)
      current = []
      used = 0
    }
    current.push(e)
    used += cost
  }
  if (current.length) out.push(current)
  return out
}

/** Every redacted value replaced, longest first (one may contain another). */
export function redactText(text: string, values: Set<string>): string {
  if (values.size === 0) return text
  let out = text
  for (const value of [...values].sort((a, b) => b.length - a.length)) {
    // The value as it appears inside JSON text.
    const encoded = JSON.stringify(value).slice(1, -1)
    out = out.split(encoded).join('[redacted]')
  }
  return out
}

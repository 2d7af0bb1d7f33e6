import {z} from 'zod'

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const
export type Severity = (typeof SEVERITIES)[number]
export const CATEGORIES = ['security', 'performance', 'reliability', 'integrity'] as const

export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s)

/** Where an entry is: `file:line` (a log file name, or `-` for standard input). */
export const evidenceSchema = z.object({file: z.string(), line: z.int().min(1)})
export type Evidence = z.infer<typeof evidenceSchema>

export const findingSchema = z.object({
  id: z.string(),
  /** The detector that found it, or `llm`. */
  source: z.string(),
  title: z.string(),
  severity: z.enum(SEVERITIES),
  category: z.enum(CATEGORIES),
  count: z.int().min(0),
  first_seen: z.string().nullable(),
  last_seen: z.string().nullable(),
  actors: z.array(z.string()),
  ips: z.array(z.string()),
  evidence: z.array(evidenceSchema).max(10),
  explanation: z.string(),
  recommendation: z.string(),
})
export type Finding = z.infer<typeof findingSchema>

export const reportSchema = z.object({
  generated_at: z.string(),
  source: z.string(),
  range: z.object({since: z.string().nullable(), until: z.string().nullable(), baseline_since: z.string().nullable()}),
  totals: z.object({
    entries: z.int(),
    baseline_entries: z.int(),
    failures: z.int(),
    unreadable_lines: z.int(),
    by_level: z.record(z.string(), z.int()),
    top_events: z.array(z.object({name: z.string(), count: z.int()})),
    top_actors: z.array(z.object({name: z.string(), count: z.int()})),
    /** Entries per hour of the range (hour start in RFC 3339 UTC). */
    by_hour: z.array(z.object({hour: z.string(), count: z.int(), failures: z.int()})),
  }),
  findings: z.array(findingSchema),
  llm: z.object({
    status: z.enum(['ok', 'skipped', 'failed']),
    /** One line: why it was skipped or failed. */
    reason: z.string().optional(),
    model: z.string().optional(),
    prompt: z.string().optional(),
    calls: z.int().min(0),
    /** LLM findings that cited no entry of their input, dropped. */
    dropped_findings: z.int().min(0),
    summary: z.string().optional(),
  }),
  notes: z.array(z.string()),
})
export type AnalyzeReport = z.infer<typeof reportSchema>

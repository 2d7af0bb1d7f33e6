import {z} from 'zod'

import type {LocatedEntry} from '../events/model.js'
import {defineCodec} from './codec.js'
import {hostOf} from './event-class.js'
import {safeJson, sanitizeLine} from '../text/sanitize.js'

// Grafana Loki push JSON (siem-formats.md §9): streams of labels with `[ns-as-string, line]` values.
// Labels stay low-cardinality (job, event, level, host); actor and chain hash stay in the line.

/** Epoch ms as a Loki nanosecond timestamp string, in integers (no float). */
export function lokiTime(ms: number): string {
  return (BigInt(ms) * 1_000_000n).toString()
}

const options = z.strictObject({
  job: z
    .string()
    .regex(/^[^\u0000-\u001f"\\]{1,128}$/, {error: 'up to 128 printable characters, no quote or backslash'})
    .default('auditkit'),
})

/** The labels of an entry's stream. */
export function lokiLabels({entry}: LocatedEntry, job: string): Record<string, string> {
  const labels: Record<string, string> = {job, event: entry.event, level: entry.level}
  const host = hostOf(entry)
  if (host) labels.host = sanitizeLine(host)
  return labels
}

/** One value of a stream: the timestamp and the entry as its JSON line. */
export function lokiValue({entry, time}: LocatedEntry): [string, string] {
  return [lokiTime(time), safeJson(entry)]
}

/** One push body an entry, one a line: each line can be POSTed as it is. The sink batches streams instead. */
export const lokiCodec = defineCodec({
  name: 'loki',
  summary: 'Grafana Loki push API JSON (labels job, event, level, host; ns timestamps)',
  options,
  framing: 'newline',
  mediaType: 'application/json',
  extension: 'loki.json',
  create: ({job}) => ({encode: (located) => safeJson({streams: [{stream: lokiLabels(located, job), values: [lokiValue(located)]}]})}),
})

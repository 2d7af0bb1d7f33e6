import {z} from 'zod'

import type {LocatedEntry} from '../events/model.js'
import {defineCodec} from './codec.js'
import {hostOf} from './event-class.js'
import {safeJson} from '../text/sanitize.js'

// Splunk HTTP Event Collector events (siem-formats.md §9): `time` in epoch seconds with a ms
// fraction, the entry as the `event` object; a batch is the envelopes one after another.

/** Epoch ms as HEC seconds with a three-digit fraction, written exactly (no float rounding). */
export function hecTime(ms: number): string {
  const seconds = Math.floor(ms / 1000)
  return `${seconds}.${String(ms - seconds * 1000).padStart(3, '0')}`
}

const name = z
  .string()
  .min(1)
  .max(1024)
  .refine((s) => !/[\u0000-\u001f]/.test(s), {error: 'no control characters'})

const options = z.strictObject({
  index: name.optional(),
  sourcetype: name.default('auditkit:audit'),
  source: name.default('auditkit'),
})

export type HecOptions = z.output<typeof options>

/** The HEC envelope of an entry as JSON text. */
export function hecEvent({entry, time}: LocatedEntry, {index, sourcetype, source}: HecOptions): string {
  const host = hostOf(entry)
  const fields = `${host ? `,"host":${safeJson(host)}` : ''},"source":${safeJson(source)},"sourcetype":${safeJson(sourcetype)}${index ? `,"index":${safeJson(index)}` : ''}`
  return `{"time":${hecTime(time)}${fields},"event":${safeJson(entry)}}`
}

export const splunkHecCodec = defineCodec({
  name: 'splunk-hec',
  summary: 'Splunk HTTP Event Collector events (index, sourcetype, source as options)',
  options,
  framing: 'newline',
  mediaType: 'application/json',
  extension: 'hec.json',
  create: (hec) => ({encode: (located) => hecEvent(located, hec)}),
})

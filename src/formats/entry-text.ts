// The encoders of the terminal and JSON formats, apart from their codecs: no zod here, so the
// start-up fast path (src/cli/fast.ts) can print entries without loading it.
import type {Level} from '../events/model.js'
import {formatTime} from '../events/time.js'
import type {CodecContext, Encoder} from './codec.js'
import {plain} from './paint.js'
import {boundedJson, safeJson, sanitizeLine} from '../text/sanitize.js'

const PLAIN_VALUE = /^[^\s"=]+$/

/** `key=value` pairs; strings bare when they can be, everything else as JSON. */
export function compactDetails(details: Record<string, unknown>): string {
  return Object.entries(details)
    .map(([key, value]) => {
      const text = typeof value === 'string' && PLAIN_VALUE.test(value) ? value : boundedJson(value)
      return `${key}=${text}`
    })
    .join(' ')
}

/** For a terminal: time, level (coloured), event, actor and a compact details line; content sanitised. */
export function prettyEncoder(context: CodecContext = {}): Encoder {
  const c = context.paint ?? plain
  const levelStyle: Record<Level, (s: string) => string> = {debug: c.dim, info: c.green, warning: c.yellow, error: (s) => c.red(c.bold(s))}
  return {
    encode({entry, time}) {
      const when = context.local ? formatTime(time, true) : entry.timestamp
      const details = compactDetails(entry.details)
      return `${c.dim(sanitizeLine(when))} ${levelStyle[entry.level](entry.level.padEnd(7))} ${c.bold(sanitizeLine(entry.event))} ${c.cyan(sanitizeLine(entry.actor))}${details ? ` ${sanitizeLine(details)}` : ''}`
    },
  }
}

/** The native-model entry as JSON (loki-mode entries appear mapped), safe to print. */
export const entryJson: Encoder = {encode: ({entry}) => safeJson(entry)}

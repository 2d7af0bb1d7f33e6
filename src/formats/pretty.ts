import type {Level} from '../events/model.js'
import {formatTime} from '../events/time.js'
import {type CodecContext, defineCodec, type Encoder, NO_OPTIONS} from './codec.js'
import {plain} from './paint.js'
import {boundedJson, sanitizeLine} from '../text/sanitize.js'

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

export const prettyCodec = defineCodec({
  name: 'pretty',
  summary: 'for a terminal: time, level, event, actor, details; coloured on a TTY',
  options: NO_OPTIONS,
  framing: 'newline',
  mediaType: 'text/plain',
  extension: 'txt',
  create: (_options, context) => prettyEncoder(context),
})

import {AuditError} from '../errors.js'
import type {Codec, CodecContext} from './codec.js'
import {cefCodec} from './cef.js'
import {csvCodec} from './csv.js'
import {csvFixedCodec} from './csv-fixed.js'
import {ecsCodec} from './ecs.js'
import {ecsBulkCodec} from './ecs-bulk.js'
import type {EntryFormat} from './format.js'
import {FRAMINGS, type FramingName} from './framing.js'
import {jsonCodec, jsonlCodec} from './json.js'
import {leefCodec} from './leef.js'
import {lokiCodec} from './loki.js'
import {ocsfCodec} from './ocsf.js'
import {prettyCodec} from './pretty.js'
import {rfc3164Codec} from './rfc3164.js'
import {rfc5424Codec} from './rfc5424.js'
import {splunkHecCodec} from './splunk-hec.js'
import {syslogCodec} from './syslog.js'

/** Every output format, in the order help lists them. A new codec is added here and nowhere else. */
export const CODECS: readonly Codec[] = [
  prettyCodec,
  jsonCodec,
  jsonlCodec,
  csvCodec,
  syslogCodec,
  rfc5424Codec,
  rfc3164Codec,
  csvFixedCodec,
  cefCodec,
  leefCodec,
  ecsCodec,
  ecsBulkCodec,
  ocsfCodec,
  splunkHecCodec,
  lokiCodec,
]

const BY_NAME = new Map(CODECS.map((codec) => [codec.name, codec]))

/** The names --format accepts. */
export const CODEC_NAMES = CODECS.map((codec) => codec.name)

export function getCodec(name: string): Codec {
  const codec = BY_NAME.get(name)
  if (!codec) throw new AuditError(`unknown format "${name}": expected one of ${CODEC_NAMES.join(', ')}`)
  return codec
}

/**
 * Validates the options against the codec's schema; an error names the format and the option.
 * `origin` says where they came from (a flag, a config file) for the message.
 */
export function codecOptions(codec: Codec, options: unknown, origin = 'options'): unknown {
  const parsed = codec.options.safeParse(options ?? {})
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]
  const path = issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''
  throw new AuditError(`format ${codec.name}, ${origin}: ${path}${issue.message}`)
}

export interface CreateFormatOptions extends CodecContext {
  /** The codec's own options, validated against its schema. */
  options?: unknown
  /** Another framing than the codec's own (octet counting for syslog over TCP). */
  framing?: FramingName
}

/** The named codec, its options checked, joined to its framing: ready for a command to write. */
export function createFormat(name: string, {options, framing, ...context}: CreateFormatOptions = {}): EntryFormat {
  const codec = getCodec(name)
  const encoder = codec.create(codecOptions(codec, options), context)
  const frame = FRAMINGS[framing ?? codec.framing]
  return {
    begin: (encoder.begin ?? '') + frame.begin,
    encode: (located, index) => frame.frame(encoder.encode(located), index),
    end: frame.end,
  }
}

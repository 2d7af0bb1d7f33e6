import {AuditError} from '../errors.js'
import type {LocatedEntry} from '../events/model.js'
import type {CodecContext} from '../formats/codec.js'
import type {EntryFormat} from '../formats/format.js'
import {FRAMINGS} from '../formats/framing.js'
import {codecOptions, getCodec} from '../formats/registry.js'
import {rfc5424Envelope} from '../formats/rfc5424.js'
import {FACILITIES} from '../formats/syslog.js'
import {safeJson} from '../text/sanitize.js'
import {type Projection, project} from './project.js'

/** `--format csv` in an export means the fixed export columns (issue #10), not search's CSV with file and line. */
const EXPORT_ALIASES: Record<string, string> = {csv: 'csv-fixed'}

export function exportCodecName(format: string): string {
  return EXPORT_ALIASES[format] ?? format
}

/**
 * Where the document is in each JSON-shaped format's record, for --fields/--exclude-fields: the
 * whole record, the line after a `_bulk` action, or HEC's `event`.
 */
const DOCUMENT: Record<string, (record: string, projection: Projection) => string> = {
  json: (record, p) => safeJson(project(JSON.parse(record), p)),
  jsonl: (record, p) => safeJson(project(JSON.parse(record), p)),
  ecs: (record, p) => safeJson(project(JSON.parse(record), p)),
  ocsf: (record, p) => safeJson(project(JSON.parse(record), p)),
  'ecs-bulk'(record, p) {
    const split = record.indexOf('\n')
    return `${record.slice(0, split)}\n${safeJson(project(JSON.parse(record.slice(split + 1)), p))}`
  },
  'splunk-hec'(record, p) {
    const envelope = JSON.parse(record)
    envelope.event = project(envelope.event, p)
    return safeJson(envelope)
  },
}

export const PROJECTABLE = Object.keys(DOCUMENT)

/** The codec with its options and framing, and the projection applied inside each record. */
export function exportFormat(
  format: string,
  options: unknown,
  projection: Projection | undefined,
  context: CodecContext = {},
): EntryFormat {
  const {codec, encoder, encode} = recordEncoder(format, options, projection, context)
  const frame = FRAMINGS[codec.framing]
  const exported: EntryFormat = {
    begin: (encoder.begin ?? '') + frame.begin,
    encode: (located, index) => frame.frame(encode(located), index),
    end: frame.end,
  }
  const canonical = encoder.encodeCanonical
  // A projected record is the codec's record taken apart again: the bytes road is only for the record itself.
  if (canonical && codec.framing === 'newline' && !isProjected(projection))
    exported.encodeCanonical = (line, out) => {
      if (!canonical(line, out)) return false
      out.buf[out.pos++] = 0x0a
      return true
    }
  return exported
}

function isProjected(projection: Projection | undefined): projection is Projection {
  return Boolean(projection && (projection.fields || projection.exclude))
}

/** The formats that are syslog messages already (the sink sends them as they are). */
const SYSLOG_CODECS = new Set(['rfc5424', 'rfc3164', 'syslog'])

/**
 * For a syslog destination (udp, tcp, tls): one syslog message a record, unframed (the sink frames
 * each: a datagram, an LF or an octet count). A record of another format (CEF, LEEF, JSON…) goes as
 * the MSG of an RFC 5424 header, facility local0, APP-NAME `audit`, MSGID the event.
 */
export function syslogMessageFormat(
  format: string,
  options: unknown,
  projection: Projection | undefined,
  context: CodecContext = {},
): EntryFormat {
  const {codec, encode} = recordEncoder(format, options, projection, context)
  if (SYSLOG_CODECS.has(codec.name)) return {encode}
  // A CSV header or a _bulk action line would be a message of its own, or cut one in two.
  if (codec.multiline) throw new AuditError(`--format ${format}: its records span lines; a syslog destination takes one line a message`)
  const envelope = rfc5424Envelope(FACILITIES.local0, 'audit')
  return {encode: (located) => envelope(located.entry, encode(located))}
}

function recordEncoder(format: string, options: unknown, projection: Projection | undefined, context: CodecContext) {
  const name = exportCodecName(format)
  const codec = getCodec(name)
  const encoder = codec.create(codecOptions(codec, options, '--format-option'), context)
  let encode = (located: LocatedEntry) => encoder.encode(located)
  if (isProjected(projection)) {
    const document = DOCUMENT[name]
    if (!document)
      throw new AuditError(`--fields and --exclude-fields apply to the JSON-shaped formats (${PROJECTABLE.join(', ')}), not ${format}`)
    encode = (located) => document(encoder.encode(located), projection)
  }
  return {codec, encoder, encode}
}

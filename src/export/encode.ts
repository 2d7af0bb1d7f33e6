import {AuditError} from '../errors.js'
import type {LocatedEntry} from '../events/model.js'
import type {CodecContext} from '../formats/codec.js'
import type {EntryFormat} from '../formats/format.js'
import {FRAMINGS} from '../formats/framing.js'
import {codecOptions, getCodec} from '../formats/registry.js'
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
  const name = exportCodecName(format)
  const codec = getCodec(name)
  const encoder = codec.create(codecOptions(codec, options, '--format-option'), context)
  const frame = FRAMINGS[codec.framing]
  let encode = (located: LocatedEntry) => encoder.encode(located)
  if (projection && (projection.fields || projection.exclude)) {
    const document = DOCUMENT[name]
    if (!document)
      throw new AuditError(`--fields and --exclude-fields apply to the JSON-shaped formats (${PROJECTABLE.join(', ')}), not ${format}`)
    encode = (located) => document(encoder.encode(located), projection)
  }
  return {begin: (encoder.begin ?? '') + frame.begin, encode: (located, index) => frame.frame(encode(located), index), end: frame.end}
}

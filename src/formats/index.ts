import {csvFormat} from './csv.js'
import type {EntryFormat, FormatOptions} from './format.js'
import {jsonFormat} from './json.js'
import {jsonlFormat} from './jsonl.js'
import {prettyFormat} from './pretty.js'

export const ENTRY_FORMATS = ['pretty', 'json', 'jsonl', 'csv'] as const
export type EntryFormatName = (typeof ENTRY_FORMATS)[number]

export function entryFormat(name: EntryFormatName, options: FormatOptions = {}): EntryFormat {
  switch (name) {
    case 'pretty': return prettyFormat(options)
    case 'json': return jsonFormat
    case 'jsonl': return jsonlFormat
    case 'csv': return csvFormat
  }
}

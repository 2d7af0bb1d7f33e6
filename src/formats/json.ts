import {defineCodec, NO_OPTIONS} from './codec.js'
import {entryJson} from './entry-text.js'

/** One entry a line (NDJSON), for jq and line-oriented shippers. */
export const jsonlCodec = defineCodec({
  name: 'jsonl',
  summary: 'one JSON object a line (NDJSON)',
  options: NO_OPTIONS,
  framing: 'newline',
  mediaType: 'application/x-ndjson',
  extension: 'jsonl',
  create: () => entryJson,
})

/** One JSON array of entries. */
export const jsonCodec = defineCodec({
  name: 'json',
  summary: 'one JSON array of entries',
  options: NO_OPTIONS,
  framing: 'json-array',
  mediaType: 'application/json',
  extension: 'json',
  create: () => entryJson,
})

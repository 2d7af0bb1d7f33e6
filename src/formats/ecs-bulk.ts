import {z} from 'zod'

import type {CanonicalLine, LocatedEntry} from '../events/model.js'
import {defineCodec} from './codec.js'
import {ecsCanonicalWriter, ecsJsonWriter, ecsOptions} from './ecs.js'
import {putAscii, putBytes} from './record-bytes.js'
import {safeJson} from '../text/sanitize.js'

// Elasticsearch/OpenSearch `_bulk` NDJSON (siem-formats.md §7): a `create` action line, then the
// ECS document, for every entry, and a final newline. `create` is what data streams accept, and with
// `_id` = the chain hash a resend of an entry already indexed is a 409, not a duplicate.

/** An index or data stream name as Elasticsearch allows it (lowercase, none of its reserved characters). */
const INDEX_NAME = /^[a-z0-9][a-z0-9._+-]{0,254}$/

const options = ecsOptions.extend({
  index: z.string().regex(INDEX_NAME, {error: 'a lowercase index or data stream name'}).optional(),
})

/** The action line of an entry. */
export function bulkAction(located: LocatedEntry, index?: string): string {
  const action: Record<string, string> = {}
  if (index) action._index = index
  if (located.entry.chain_hash) action._id = located.entry.chain_hash
  return safeJson({create: action})
}

/** bulkAction with the index fixed, written as text when the chain hash is plain (it is hex). */
function bulkActionWriter(index?: string): (located: LocatedEntry) => string {
  const indexPart = index ? `"_index":${JSON.stringify(index)}` : ''
  const bare = `{"create":{${indexPart}}}`
  return (located) => {
    const hash = located.entry.chain_hash
    if (!hash) return bare
    return /^[0-9a-f]+$/.test(hash) ? `{"create":{${indexPart}${index ? ',' : ''}"_id":"${hash}"}}` : bulkAction(located, index)
  }
}

/**
 * Two lines an entry by design (action and document), so `multiline`; the document is JSON, so no
 * log content adds a third (test/unit/export-formats.test.ts checks).
 */
export const ecsBulkCodec = defineCodec({
  name: 'ecs-bulk',
  summary: 'Elasticsearch/OpenSearch _bulk NDJSON: a create action (_id = chain hash) and an ECS document per entry',
  options,
  framing: 'newline',
  mediaType: 'application/x-ndjson',
  extension: 'bulk.ndjson',
  multiline: true,
  create({index, ...ecs}) {
    const action = bulkActionWriter(index)
    const document = ecsJsonWriter(ecs)
    const indexPart = index ? `"_index":${JSON.stringify(index)}` : ''
    // A canonical chain hash is hex: bulkActionWriter writes it as it is.
    const bare = Buffer.from(`{"create":{${indexPart}}}\n`)
    const withId = Buffer.from(`{"create":{${indexPart}${index ? ',' : ''}"_id":"`)
    const idEnd = Buffer.from('"}}\n')
    const canonicalAction = {
      most: withId.length + 64 + idEnd.length,
      write: (line: CanonicalLine, buf: Buffer, pos: number) =>
        line.chainHash === undefined
          ? putBytes(buf, pos, bare)
          : putBytes(buf, putAscii(buf, putBytes(buf, pos, withId), line.chainHash), idEnd),
    }
    return {encode: (located) => `${action(located)}\n${document(located)}`, encodeCanonical: ecsCanonicalWriter(ecs, canonicalAction)}
  },
})

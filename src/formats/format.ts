import type {CanonicalLine, LocatedEntry} from '../events/model.js'
import type {ByteOut} from './record-bytes.js'

/**
 * A codec with its framing: what a command writes for a stream of entries. `begin` and `end` frame
 * the stream (a JSON array's brackets, a CSV header); `encode` gets the entry's index in the output.
 */
export interface EntryFormat {
  begin?: string
  encode(located: LocatedEntry, index: number): string
  /** The codec's Encoder.encodeCanonical with the framing, for a format whose records do not depend on their index. */
  encodeCanonical?(line: CanonicalLine, out: ByteOut): boolean
  end?: string
}

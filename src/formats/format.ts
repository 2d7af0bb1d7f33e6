import type {LocatedEntry} from '../events/model.js'
import type {Paint} from './paint.js'

/**
 * An output format for a stream of entries: pure text in, text out. `begin` and `end` frame the
 * stream (a JSON array's brackets, a CSV header); `encode` gets the entry's index in the output.
 */
export interface EntryFormat {
  begin?: string
  encode(located: LocatedEntry, index: number): string
  end?: string
}

export interface FormatOptions {
  /** Show times in the local zone (pretty only). */
  local?: boolean
  /** Colours for a terminal (pretty only); none when absent. */
  paint?: Paint
}

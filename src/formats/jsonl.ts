import type {EntryFormat} from './format.js'
import {safeJson} from './sanitize.js'

/** One native-model entry per line (loki-mode entries appear mapped), safe to print. */
export const jsonlFormat: EntryFormat = {
  encode: ({entry}) => `${safeJson(entry)}\n`,
}

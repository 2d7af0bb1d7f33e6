import type {EntryFormat} from './format.js'

/** One native-model entry per line (loki-mode entries appear mapped). */
export const jsonlFormat: EntryFormat = {
  encode: ({entry}) => `${JSON.stringify(entry)}\n`,
}

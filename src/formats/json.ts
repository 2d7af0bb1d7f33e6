import type {EntryFormat} from './format.js'
import {safeJson} from './sanitize.js'

/** One JSON array of native-model entries. */
export const jsonFormat: EntryFormat = {
  begin: '[',
  encode: ({entry}, index) => `${index === 0 ? '\n' : ',\n'}${safeJson(entry)}`,
  end: '\n]\n',
}

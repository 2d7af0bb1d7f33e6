import type {EntryFormat} from './format.js'

/** One JSON array of native-model entries. */
export const jsonFormat: EntryFormat = {
  begin: '[',
  encode: ({entry}, index) => `${index === 0 ? '\n' : ',\n'}${JSON.stringify(entry)}`,
  end: '\n]\n',
}

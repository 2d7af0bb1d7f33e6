import {defineCodec, NO_OPTIONS} from './codec.js'
import {csvEncoder} from './csv-cells.js'

export {csvCell, csvRecord, neutraliseFormula} from './csv-cells.js'

/**
 * RFC 4180 CSV with a header row; details and metadata as JSON. Text cells are stripped of escape
 * sequences and control characters (a CSV is read in terminals and spreadsheets, which act on them).
 */
export const csvCodec = defineCodec({
  name: 'csv',
  summary: 'RFC 4180 CSV with a header row; formula cells neutralised',
  options: NO_OPTIONS,
  framing: 'crlf',
  mediaType: 'text/csv',
  extension: 'csv',
  multiline: true,
  create: () => csvEncoder,
})

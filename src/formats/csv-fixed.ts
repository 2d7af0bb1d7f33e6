import {defineCodec, NO_OPTIONS} from './codec.js'
import {csvRecord} from './csv.js'
import {hostOf} from './event-class.js'
import {safeJson, sanitizeText} from '../text/sanitize.js'

const COLUMNS = ['timestamp', 'event', 'level', 'actor', 'details', 'host', 'chain_hash'] as const

/**
 * The export's CSV (issue #10): fixed columns that do not depend on where the log lives (no file
 * path or line, unlike `search --format csv`), for spreadsheets and auditors; details as JSON.
 */
export const csvFixedCodec = defineCodec({
  name: 'csv-fixed',
  summary: 'RFC 4180 CSV with the fixed export columns (timestamp, event, level, actor, details, host, chain_hash)',
  options: NO_OPTIONS,
  framing: 'crlf',
  mediaType: 'text/csv',
  extension: 'csv',
  multiline: true,
  create: () => ({
    begin: `${COLUMNS.join(',')}\r\n`,
    encode({entry}) {
      return csvRecord(entry, [safeJson(entry.details), sanitizeText(hostOf(entry) ?? '', true), sanitizeText(entry.chain_hash ?? '')])
    },
  }),
})

// CSV cells and records apart from the codec: no zod here, so the start-up fast path
// (src/cli/fast.ts) can print CSV without loading it.
import type {Encoder} from './codec.js'
import {safeJson, sanitizeText} from '../text/sanitize.js'

const COLUMNS = ['timestamp', 'event', 'level', 'actor', 'details', 'metadata', 'chain_hash', 'file', 'line'] as const

/**
 * A cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR) is prefixed with
 * a quote, as OWASP advises against CSV injection.
 */
export function neutraliseFormula(cell: string): string {
  return /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell
}

/** RFC 4180 quoting: cells with a comma, quote, CR or LF are quoted, quotes doubled. */
export function csvCell(value: string): string {
  const cell = neutraliseFormula(value)
  return /[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell
}

/** One CSV record: the entry's own text cells (timestamp, event, level, actor) sanitised, then the others as given; every cell quoted and neutralised. */
export function csvRecord(entry: {timestamp: string; event: string; level: string; actor: string}, others: string[]): string {
  const text = [entry.timestamp, entry.event, entry.level, entry.actor].map((t) => sanitizeText(t, true))
  return [...text, ...others].map((cell) => csvCell(cell)).join(',')
}

/** The csv codec's encoder: a header row, then one record an entry, located by file name and line number. */
export const csvEncoder: Encoder = {
  begin: `${COLUMNS.join(',')}\r\n`,
  encode({entry, file, line}) {
    return csvRecord(entry, [
      safeJson(entry.details),
      safeJson(entry.metadata),
      sanitizeText(entry.chain_hash ?? ''),
      sanitizeText(file.slice(file.lastIndexOf('/') + 1)),
      String(line),
    ])
  },
}

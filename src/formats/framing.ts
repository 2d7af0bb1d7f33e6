/**
 * How encoded records are put together into one stream, kept apart from how each is encoded
 * (a syslog line may go newline-framed into a pipe or octet-counted onto TCP).
 */
export interface Framing {
  readonly begin: string
  frame(record: string, index: number): string
  readonly end: string
}

const newline: Framing = {begin: '', frame: (record) => `${record}\n`, end: ''}

/** RFC 4180 ends every record with CRLF. */
const crlf: Framing = {begin: '', frame: (record) => `${record}\r\n`, end: ''}

/** One JSON array, one element a line; an empty stream is `[\n]`. */
const jsonArray: Framing = {begin: '[', frame: (record, index) => `${index === 0 ? '\n' : ',\n'}${record}`, end: '\n]\n'}

/** RFC 6587 §3.4.1: `MSG-LEN SP SYSLOG-MSG`, the length in octets, so a record may hold any byte. */
const octetCounting: Framing = {begin: '', frame: (record) => `${Buffer.byteLength(record)} ${record}`, end: ''}

export const FRAMINGS = {newline: newline, crlf: crlf, 'json-array': jsonArray, 'octet-counting': octetCounting} as const

export type FramingName = keyof typeof FRAMINGS

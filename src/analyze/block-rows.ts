import {isAscii, isUtf8} from 'node:buffer'

import {type ScanRequest, type ScanResult, scanBlock} from '../integrity/verify/scan.js'
import {type Level, LEVELS, MAX_LINE_BYTES} from '../events/model.js'
import {readCanonicalHeadAt} from '../store/decode.js'
import type {RawLine} from '../store/reader.js'
import {ownCopy} from '../summary/aggregate.js'
import {canonicalFields, entryTemplate} from './canonical.js'

/**
 * analyze's half of a fused read (fused.ts): a block of a log file, as verify reads it, read into
 * compact columns in the thread that also hashes it, so the main thread only runs the detectors.
 * Canonical lines become rows; every other line goes back as a RawLine for the reader's own path
 * (sources.ts's lineItems), so problems are found and worded by the same code as ever.
 */

/** What to read of a block: the read range (entries outside it are dropped) and the analysed range's start (samples from there). */
export interface RowsRequest {
  since?: number
  until?: number
  rangeSince?: number
}

/**
 * Int32 members of a row, in `BlockRows.ints`: string members index `strings`, -1 for none; the
 * level indexes LEVELS; `template` is the entry's message template (canonical.ts's entryTemplate).
 * Baseline rows carry no model and no template: only the range's entries are checked against the
 * model allow-list and grouped by message template.
 */
export const ROW = {line: 0, event: 1, level: 2, actor: 3, ip: 4, model: 5, template: 6, size: 7} as const
const LEVEL_CODES = Object.fromEntries(LEVELS.map((level, i) => [level, i])) as Record<Level, number>

export interface BlockRows {
  rows: number
  /** ROW.size per row; `line` is 1-based in the block. */
  ints: Int32Array
  times: Float64Array
  failures: Uint8Array
  strings: string[]
  /**
   * Lines for lineItems, in order (lines numbered in the block): lines that are not canonical or
   * not UTF-8, the line after such a line (it may be a torn line's recovery record) and the
   * block's first line (the last block may have ended with one).
   */
  raws: RawLine[]
  /** The text of each template's first row in the block (where its LLM sample comes from), by row. */
  firstRows: number[]
  firstTexts: string[]
  /** A line over MAX_LINE_BYTES: the caller reads the range its general way. */
  irregular: boolean
}

class Rows {
  rows = 0
  ints = new Int32Array(ROW.size * 4096)
  times = new Float64Array(4096)
  failures = new Uint8Array(4096)
  readonly strings: string[] = []
  readonly raws: RawLine[] = []
  readonly firstRows: number[] = []
  readonly firstTexts: string[] = []
  irregular = false
  private readonly ids = new Map<string, number>()
  /** Template ids by reason, then by event id and level: a template's text is made once per block, not per row. */
  private readonly templateIds = new Map<string | undefined, Map<number, number>>()
  /** Templates of the block's rows in the analysed range. */
  private readonly templates = new Set<string>()
  /** The next line must go to lineItems (see BlockRows.raws). */
  private afterRaw = true

  constructor(private readonly request: RowsRequest) {}

  private grow(): void {
    const grown = <T extends Int32Array | Float64Array | Uint8Array>(column: T, make: (length: number) => T): T => {
      const bigger = make(column.length * 2)
      bigger.set(column)
      return bigger
    }
    this.ints = grown(this.ints, (n) => new Int32Array(n))
    this.times = grown(this.times, (n) => new Float64Array(n))
    this.failures = grown(this.failures, (n) => new Uint8Array(n))
  }

  private id(value: string | undefined): number {
    if (value === undefined) return -1
    let id = this.ids.get(value)
    if (id === undefined) {
      // Its own copy: a slice would keep the whole decoded piece of the block alive (see PIECE_CHARS).
      const own = ownCopy(value)
      id = this.strings.push(own) - 1
      this.ids.set(own, id)
    }
    return id
  }

  raw(raw: RawLine): void {
    this.raws.push(raw)
    this.afterRaw = true
  }

  /** The line text[start, end) (not blank). */
  line(text: string, start: number, end: number, line: number): void {
    const canonical = readCanonicalHeadAt(text, start)
    if (canonical === undefined) return this.raw({text: ownCopy(text.slice(start, end)), line})
    if (this.afterRaw) {
      this.raws.push({text: ownCopy(text.slice(start, end)), line})
      this.afterRaw = false
      return
    }
    const {time, event, level} = canonical
    const {since, until, rangeSince} = this.request
    if ((since !== undefined && time < since) || (until !== undefined && time >= until)) return
    const {actor, ip, model, reason, failure} = canonicalFields(canonical)
    if (this.rows === this.times.length) this.grow()
    const row = this.rows++
    const at = row * ROW.size
    const {ints} = this
    ints[at + ROW.line] = line
    ints[at + ROW.event] = this.id(event)
    ints[at + ROW.level] = LEVEL_CODES[level]
    ints[at + ROW.actor] = this.id(actor)
    ints[at + ROW.ip] = this.id(ip)
    this.times[row] = time
    this.failures[row] = failure ? 1 : 0
    if (rangeSince !== undefined && time < rangeSince) {
      ints[at + ROW.model] = ints[at + ROW.template] = -1
      return
    }
    ints[at + ROW.model] = this.id(model)
    let byEvent = this.templateIds.get(reason)
    if (byEvent === undefined) this.templateIds.set(reason === undefined ? reason : ownCopy(reason), (byEvent = new Map()))
    const key = ints[at + ROW.event] * LEVELS.length + LEVEL_CODES[level]
    let template = byEvent.get(key)
    if (template === undefined) {
      template = this.id(entryTemplate(event, level, reason))
      byEvent.set(key, template)
      // Another reason may have the same template.
      if (!this.templates.has(this.strings[template])) {
        this.templates.add(this.strings[template])
        this.firstRows.push(row)
        this.firstTexts.push(ownCopy(text.slice(start, end)))
      }
    }
    ints[at + ROW.template] = template
  }

  done(): BlockRows {
    const {rows, ints, times, failures, strings, raws, firstRows, firstTexts, irregular} = this
    return {rows, ints, times, failures, strings, raws, firstRows, firstTexts, irregular}
  }
}

/**
 * Characters of a block decoded at once (at a line end): lines are read in place with
 * readCanonicalHeadAt, not sliced out and copied, and a text under 128 KiB stays out of V8's large
 * object space (measured: 64 KiB pieces 93 ms, line by line 130 ms, 256 KiB pieces 300 ms per 45 MB).
 */
const PIECE_CHARS = 64 * 1024

/** The rows of a block of whole lines (each ending with LF), each line read as readFileLines reads it. */
export function readRows(block: Buffer, request: RowsRequest): BlockRows {
  const rows = new Rows(request)
  let line = 0
  // ASCII reads the same as Latin-1, which decodes several times faster than UTF-8.
  const ascii = isAscii(block)
  if (ascii || isUtf8(block)) {
    for (let from = 0; from < block.length; ) {
      const to = block.indexOf(10, Math.min(from + PIECE_CHARS, block.length - 1)) + 1
      const text = block.toString(ascii ? 'latin1' : 'utf8', from, to)
      from = to
      for (let start = 0, nl = text.indexOf('\n'); nl >= 0; start = nl + 1, nl = text.indexOf('\n', start)) {
        line++
        if (nl - start > MAX_LINE_BYTES / 4 && Buffer.byteLength(text.slice(start, nl)) > MAX_LINE_BYTES) rows.irregular = true
        // A line starting with `{` is not blank: trim only the others.
        else if (text.charCodeAt(start) === 0x7b || text.slice(start, nl).trim() !== '') rows.line(text, start, nl, line)
      }
    }
    return rows.done()
  }
  for (let start = 0, nl = block.indexOf(10); nl >= 0; start = nl + 1, nl = block.indexOf(10, start)) {
    line++
    const bytes = block.subarray(start, nl)
    if (bytes.length > MAX_LINE_BYTES) rows.irregular = true
    else if (!isUtf8(bytes)) rows.raw({text: '', line, bytes: Buffer.from(bytes)})
    else {
      const text = bytes.toString('utf8')
      if (text.trim() !== '') rows.line(text, 0, text.length, line)
    }
  }
  return rows.done()
}

/** scanBlock, with the block's rows first when the request asks for them (scanBlock hashes in place, over the bytes). */
export function scanWithRows(request: ScanRequest): ScanResult {
  const rows =
    request.extra === undefined
      ? undefined
      : readRows(
          Buffer.from(request.buf.buffer, request.buf.byteOffset + request.start, request.end - request.start),
          request.extra as RowsRequest,
        )
  const result = scanBlock(request)
  return rows === undefined ? result : {...result, extra: rows}
}

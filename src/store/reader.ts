import {createReadStream} from 'node:fs'
import {isUtf8} from 'node:buffer'
import {createGunzip} from 'node:zlib'

import type {CompiledFilter} from '../events/filter.js'
import type {LocatedEntry, Profile} from '../events/model.js'
import {decodeLine, peekNativeTime} from './decode.js'
import {Diagnostics} from './diagnostics.js'
import {type LogFile, listLogFiles} from './files.js'

/** Longest line accepted; a longer one is reported and skipped. */
export const MAX_LINE_BYTES = 1024 * 1024
const CHUNK_BYTES = 1024 * 1024

export interface RawLine {
  text: string
  line: number
}

/**
 * Streams a file's lines (plain or gzip) in batches, in constant memory. Lines that are too long,
 * not UTF-8, or unterminated at the end, and gzip damage, go to `diagnostics`; the good lines
 * before any damage are kept. Stopping the iteration closes the file.
 */
export async function* readFileLines(file: Pick<LogFile, 'path' | 'gzip'>, diagnostics: Diagnostics, options: {start?: number} = {}): AsyncGenerator<RawLine[]> {
  const source = createReadStream(file.path, {highWaterMark: CHUNK_BYTES, start: options.start})
  const stream = file.gzip ? source.pipe(createGunzip({chunkSize: CHUNK_BYTES})) : source
  let carry: Buffer | undefined
  let lineNo = 0
  let skippingLong = false

  const split = (block: Buffer): RawLine[] => {
    const batch: RawLine[] = []
    if (isUtf8(block)) {
      const parts = block.toString('utf8').split('\n')
      parts.pop() // block ends with LF
      for (const text of parts) {
        lineNo++
        if (text.length > MAX_LINE_BYTES / 4 && Buffer.byteLength(text) > MAX_LINE_BYTES) {
          diagnostics.report({kind: 'too-long', file: file.path, line: lineNo, reason: `${Buffer.byteLength(text)} bytes`})
        } else if (text.trim() !== '') batch.push({text, line: lineNo})
      }
      return batch
    }
    let start = 0
    for (let nl = block.indexOf(10); nl >= 0; start = nl + 1, nl = block.indexOf(10, start)) {
      lineNo++
      const bytes = block.subarray(start, nl)
      if (bytes.length > MAX_LINE_BYTES) {
        diagnostics.report({kind: 'too-long', file: file.path, line: lineNo, reason: `${bytes.length} bytes`})
      } else if (isUtf8(bytes)) {
        const text = bytes.toString('utf8')
        if (text.trim() !== '') batch.push({text, line: lineNo})
      } else {
        diagnostics.report({kind: 'utf8', file: file.path, line: lineNo, reason: 'not valid UTF-8'})
      }
    }
    return batch
  }

  try {
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        let buf = carry ? Buffer.concat([carry, chunk]) : chunk
        carry = undefined
        if (skippingLong) {
          const nl = buf.indexOf(10)
          if (nl < 0) continue
          buf = buf.subarray(nl + 1)
          skippingLong = false
        }
        const last = buf.lastIndexOf(10)
        const rest = buf.subarray(last + 1)
        if (rest.length > MAX_LINE_BYTES) {
          skippingLong = true
        } else if (rest.length > 0) {
          carry = Buffer.from(rest) // a copy, so the whole chunk is not retained
        }
        if (last >= 0) {
          const batch = split(buf.subarray(0, last + 1))
          if (batch.length > 0) yield batch
        }
        if (skippingLong) {
          lineNo++
          diagnostics.report({kind: 'too-long', file: file.path, line: lineNo, reason: `over ${MAX_LINE_BYTES} bytes`})
        }
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (file.gzip && code?.startsWith('Z_')) {
        diagnostics.report({kind: 'truncated-gzip', file: file.path, reason: `${(error as Error).message}; entries before the damage were kept`})
      } else {
        diagnostics.report({kind: 'unreadable', file: file.path, reason: (error as Error).message})
      }
      carry = undefined
    }
    if (carry && carry.length > 0) {
      // A final line without LF: a write in progress or a torn write. Keep it if it is a whole entry.
      lineNo++
      const text = isUtf8(carry) ? carry.toString('utf8') : undefined
      if (text !== undefined && decodeLine(text).ok) {
        yield [{text, line: lineNo}]
      } else {
        diagnostics.report({kind: 'unterminated', file: file.path, line: lineNo, reason: `${carry.length} bytes without a final newline`})
      }
    }
  } finally {
    source.destroy()
  }
}

export interface ReadOptions {
  filter?: CompiledFilter
  /** Force a profile instead of recognising each file by its content. */
  profile?: Profile
  diagnostics?: Diagnostics
}

/** Decodes and filters a batch of raw lines from one file into located entries. */
export function decodeBatch(file: string, lines: RawLine[], options: ReadOptions, diagnostics: Diagnostics): LocatedEntry[] {
  const {filter, profile} = options
  const out: LocatedEntry[] = []
  for (const {text, line} of lines) {
    if (filter) {
      if (filter.rawTest && !filter.rawTest(text)) continue
      const nativeTime = peekNativeTime(text)
      if (!Number.isNaN(nativeTime)) {
        // A native line: its time and the literal needles can be checked before parsing.
        if (filter.since !== undefined && nativeTime < filter.since) continue
        if (filter.until !== undefined && nativeTime >= filter.until) continue
        if (filter.mayMatchRaw && !filter.mayMatchRaw(text)) continue
      }
    }
    const decoded = decodeLine(text, profile)
    if (!decoded.ok) {
      diagnostics.report({kind: decoded.kind, file, line, reason: decoded.reason})
      continue
    }
    const located: LocatedEntry = {entry: decoded.entry, time: decoded.time, file, line, raw: text, profile: decoded.profile}
    if (!filter || filter.matches(located)) out.push(located)
  }
  return out
}

/** Streams the matching entries of the given files, in chain order, a batch per chunk read. */
export async function* readEntryBatches(files: LogFile[], options: ReadOptions = {}): AsyncGenerator<LocatedEntry[]> {
  const diagnostics = options.diagnostics ?? new Diagnostics()
  for (const file of files) {
    for await (const lines of readFileLines(file, diagnostics)) {
      const batch = decodeBatch(file.path, lines, options, diagnostics)
      if (batch.length > 0) yield batch
    }
  }
}

/** Streams the matching entries of a log directory in chain order. */
export async function* readEntries(dir: string, options: ReadOptions = {}): AsyncGenerator<LocatedEntry> {
  const files = await listLogFiles(dir, {since: options.filter?.since, until: options.filter?.until})
  for await (const batch of readEntryBatches(files, options)) yield* batch
}

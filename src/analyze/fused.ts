import {basename} from 'node:path'

import {compileFilter, type FilterSpec} from '../events/filter.js'
import {LEVELS, type Profile} from '../events/model.js'
import {type VerifyProblem, verifyDirectory} from '../integrity/verify/index.js'
import {decodeLine} from '../store/decode.js'
import {Diagnostics} from '../store/diagnostics.js'
import {listLogFiles} from '../store/files.js'
import {settleHeld} from '../store/reader.js'
import {type Analysis, type AnalyzeOptions, Analyzer} from './analyze.js'
import {type BlockRows, ROW, type RowsRequest, scanWithRows} from './block-rows.js'
import {entrySampleText, type LineContext, lineItems, type SourceItem} from './sources.js'

/**
 * The audit log read once for both analyze and its integrity detector: verify reads each block,
 * and the thread that hashes it also reads its entries into columns (block-rows.ts); this thread
 * folds the chain and runs the detectors over the columns, in file order. Reading the log again
 * beside verify cost a second decode of every line on this thread, the critical path.
 *
 * What this path does not read exactly as the reader does (a line over the limit, a damaged gzip
 * or age file, a file verify cannot read) makes it give up: undefined, and the caller reads the
 * range its general way. Its answers are the general path's (test/unit/analyze-lean.test.ts).
 */
export async function analyzeLogFused(
  dir: string,
  filter: Pick<FilterSpec, 'since' | 'until'>,
  profile: Profile | undefined,
  options: AnalyzeOptions,
  threads?: number,
): Promise<Analysis | undefined> {
  const {since, until} = filter
  const wanted = new Set((await listLogFiles(dir, {since, until})).map((f) => f.path))
  const done = new Set<string>()
  const diagnostics = new Diagnostics()
  const read = {filter: compileFilter({since, until}), profile}
  const request: RowsRequest = {since, until, rangeSince: options.since}
  let context: LineContext | undefined
  let giveUp = false
  const items: SourceItem[] = []
  let verified!: (answer: VerifyProblem[] | Error) => void
  const analyzer = new Analyzer({...options, diagnostics}, new Promise((resolve) => (verified = resolve)))

  const contextOf = (path: string): LineContext => {
    if (context?.path !== path) context = {path, name: basename(path), read, state: {}, diagnostics}
    return context
  }
  /** Raw lines through the reader's path, numbered in the file. */
  const rawLines = (lines: BlockRows['raws'], from: number, to: number, lineBase: number, file: LineContext): void => {
    for (let r = from; r < to; r++) {
      const {text, line, bytes} = lines[r]
      const raw = bytes
        ? {text, line: lineBase + line, bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)}
        : {text, line: lineBase + line}
      lineItems(raw, file, items)
      for (const item of items) analyzer.item(item)
      items.length = 0
    }
  }

  const feed = (path: string, lineBase: number, rows: BlockRows): void => {
    const file = contextOf(path)
    const {ints, times, failures, strings, raws} = rows
    const o = analyzer.observation
    let r = 0
    for (let i = 0; i < rows.rows; i++) {
      const at = i * ROW.size
      const line = ints[at + ROW.line]
      if (r < raws.length && raws[r].line < line) {
        const from = r
        while (r < raws.length && raws[r].line < line) r++
        rawLines(raws, from, r, lineBase, file)
      }
      const ip = ints[at + ROW.ip]
      const model = ints[at + ROW.model]
      o.time = times[i]
      o.event = strings[ints[at + ROW.event]]
      o.level = LEVELS[ints[at + ROW.level]]
      o.actor = strings[ints[at + ROW.actor]]
      o.ip = ip < 0 ? undefined : strings[ip]
      o.model = model < 0 ? undefined : strings[model]
      o.failure = failures[i] === 1
      o.file = file.name
      o.line = lineBase + line
      if (!analyzer.entry()) continue
      const template = strings[ints[at + ROW.template]]
      if (analyzer.template(template)) {
        const decoded = decodeLine(rows.firstTexts[rows.firstRows.indexOf(i)])
        if (decoded.ok) analyzer.sample(template, entrySampleText(decoded.entry))
      }
    }
    rawLines(raws, r, raws.length, lineBase, file)
  }

  const verifying = verifyDirectory(dir, {
    threads,
    blocks: {
      worker: {name: 'block-worker', from: import.meta.url},
      scan: scanWithRows,
      extra: (file) => (wanted.has(file.path) ? request : undefined),
      block: (file, lineBase, result) => {
        if (giveUp || !wanted.has(file.path)) return
        const rows = result.extra as BlockRows | undefined
        // An over-long line comes without rows.
        if (rows === undefined || rows.irregular) giveUp = true
        else feed(file.path, lineBase, rows)
      },
      fileEnd: (file, lines, end) => {
        if (giveUp || !wanted.has(file.path)) return
        if (end.error) {
          giveUp = true
          return
        }
        const {state} = contextOf(file.path)
        if (end.tail)
          diagnostics.report({
            kind: 'unterminated',
            file: file.path,
            line: lines + 1,
            reason: `${end.tail.length} bytes without a final newline`,
          })
        settleHeld(state, undefined, profile, diagnostics)
        done.add(file.path)
      },
    },
  })
  const whole = await verifying.then(
    (report) => {
      verified(report.problems)
      return true
    },
    () => false,
  )
  // Whatever verify could not read, the general path reads and reports as it always has.
  if (!whole || giveUp || done.size !== wanted.size) return undefined
  const analysis = await analyzer.finish()
  options.diagnostics?.merge(diagnostics)
  return analysis
}

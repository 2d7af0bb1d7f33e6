import {basename} from 'node:path'

import {compileFilter, type FilterSpec} from '../events/filter.js'
import type {LocatedEntry, Profile} from '../events/model.js'
import type {CodecContext} from '../formats/codec.js'
import type {EntryFormat} from '../formats/format.js'
import {Diagnostics} from '../store/diagnostics.js'
import {listLogFiles} from '../store/files.js'
import {decodeFile} from '../store/reader.js'
import type {Sink} from '../transport/sink.js'
import {AcknowledgedBlocks} from './acknowledged.js'
import {exportFormat, syslogMessageFormat} from './encode.js'
import {exportThreads, parallelExport, planTasks, type Position, position} from './parallel.js'
import {type PrivacyCounts, type PrivacyOptions, privacyTransform} from './privacy.js'
import type {Projection} from './project.js'
import {type ExportState, readState, type Resume, resumePoint, stateAt, stateOf, writeState} from './state.js'

/** A sink that can say how many records its destination acknowledged (HTTP APIs); others acknowledge all on flush. */
export interface AcknowledgingSink extends Sink {
  readonly acknowledged: number
}

function acknowledges(sink: Sink): sink is AcknowledgingSink {
  return typeof (sink as Partial<AcknowledgingSink>).acknowledged === 'number'
}

/** An acknowledging sink that takes records encoded elsewhere a block at a time (Elasticsearch `_bulk`). */
interface BlockSink extends AcknowledgingSink {
  /** `block` holds exactly `count` encoded records, as text or as the UTF-8 bytes the export threads made (in parts). */
  writeRecords(block: string | readonly Uint8Array[], count: number): Promise<void>
}

function takesBlocks(sink: Sink): sink is BlockSink {
  return acknowledges(sink) && typeof (sink as Partial<BlockSink>).writeRecords === 'function'
}

export interface ExportRequest {
  dir: string
  filter: FilterSpec
  profile?: Profile
  format: string
  formatOptions?: unknown
  context?: CodecContext
  projection?: Projection
  privacy?: PrivacyOptions
  /** `--reveal`: sealed privacy values opened (before --redact and --pseudonymize-ip apply). */
  reveal?: (located: LocatedEntry) => LocatedEntry
  /** The state file of `--since-last`. */
  sinceLast?: string
  sink: Sink
  /** The sink is a syslog server: each entry goes as its own message (syslogMessageFormat), one write each. */
  syslogMessages?: boolean
  diagnostics?: Diagnostics
  /** Called every so many entries (for a progress line on a terminal). */
  onProgress?: (exported: number) => void
  /** True when the reader went away (stdout closed): stop reading. */
  stopped?: () => boolean
  /** Work to do after the sink is closed and before the state advances (building an archive). */
  beforeState?: (result: ExportResult) => Promise<void>
  /** Bytes of log from which a file or stdout export runs on worker threads (tests lower it). */
  parallelBytes?: number
  /** Bytes of a plain file a thread takes at a time (tests lower it). */
  rangeBytes?: number
}

export interface ExportResult {
  exported: number
  first?: {file: string; line: number; timestamp: string}
  last?: {file: string; line: number; timestamp: string; chain_hash: string | null}
  /** Entries exported from each source file, by file name, in chain order. */
  perFile: Record<string, number>
  /** The state the run started from, and whether it was written anew. */
  resumedFrom?: ExportState
  stateWritten: boolean
  privacy?: PrivacyCounts
  /** The reader went away before the end (stdout closed): the state was left as it was. */
  cutShort?: boolean
}

const PROGRESS_EVERY = 50_000

/**
 * Exports the matching entries of a log directory to a sink: read in chain order (from the
 * `--since-last` state when there is one), made private, encoded, written; the state advances only
 * to what the sink acknowledged, and only after it did.
 */
export async function runExport(request: ExportRequest): Promise<ExportResult> {
  const {dir, sink, profile} = request
  const diagnostics = request.diagnostics ?? new Diagnostics()
  const filter = compileFilter(request.filter)
  let format: EntryFormat
  try {
    format = (request.syslogMessages ? syslogMessageFormat : exportFormat)(
      request.format,
      request.formatOptions,
      request.projection,
      request.context,
    )
  } catch (error) {
    // A format the destination cannot take: the connection opened for it is let go.
    await sink.close().catch(() => undefined)
    throw error
  }
  const transform = request.privacy ? privacyTransform(request.privacy) : undefined
  const reveal = request.reveal
  const privacy = reveal
    ? {counts: transform?.counts, apply: (located: LocatedEntry) => (transform ? transform.apply(reveal(located)) : reveal(located))}
    : transform
  const result: ExportResult = {exported: 0, perFile: {}, stateWritten: false, privacy: privacy?.counts}

  let files = await listLogFiles(dir, request.sinceLast ? {} : {since: filter.since, until: filter.until})
  let resume: Resume = {files, afterLine: 0}
  if (request.sinceLast) {
    const state = await readState(request.sinceLast)
    if (state) {
      result.resumedFrom = state
      resume = await resumePoint(files, state, request.sinceLast, profile)
      files = resume.files
    }
  }

  // States of entries written but not yet acknowledged, oldest first: [index, state].
  const pending: Array<[number, ExportState]> = []
  let acknowledgedState: ExportState | undefined
  const settle = () => {
    if (!acknowledges(sink)) return
    while (pending.length > 0 && pending[0][0] < sink.acknowledged) acknowledgedState = pending.shift()![1]
  }

  let first: Position | undefined
  let last: Position | undefined
  let failure: unknown
  // Records are handed over one by one to a sink that acknowledges them or sends each as a message; others get a batch's text at once,
  // as does a sink taking blocks (so _bulk records are encoded on threads), whose confirmed blocks say the state.
  const blocks = takesBlocks(sink) && request.syslogMessages !== true ? sink : undefined
  const confirmed = blocks && request.sinceLast ? new AcknowledgedBlocks(files, {filter, profile}, filter.lineNeedles) : undefined
  const put = async (text: string | readonly Uint8Array[], start: number, count: number, from: Position, to: Position) => {
    if (!blocks) return sink.write(text.toString())
    confirmed?.add(start, count, from, to)
    await blocks.writeRecords(text, count)
    confirmed?.settle(blocks.acknowledged)
  }
  const perRecord = (acknowledges(sink) && !blocks) || request.syslogMessages === true
  // Sealed values are revealed (--reveal) with the keystore on this thread only.
  const threads = perRecord || reveal ? 0 : exportThreads(files, request.format, request.parallelBytes)
  try {
    if (format.begin) await sink.write(format.begin)
    const read = {filter, profile}
    if (threads > 0) {
      const job = {
        format: request.format,
        formatOptions: request.formatOptions,
        context: request.context,
        projection: request.projection,
        privacy: request.privacy,
        filter: request.filter,
        profile,
      }
      const tasks = planTasks(files, resume.afterLine, filter.lineNeedles !== undefined, request.rangeBytes)
      for await (const done of parallelExport(job, tasks, threads)) {
        diagnostics.merge(Diagnostics.fromJSON(done.diagnostics))
        if (result.privacy && done.privacy) {
          result.privacy.redacted += done.privacy.redacted
          result.privacy.pseudonymized += done.privacy.pseudonymized
        }
        if (done.count === 0) continue
        if (blocks) await put(done.bytes, result.exported, done.count, done.first!, done.last!)
        else
          for (const chunk of done.bytes)
            await (sink.writeBytes
              ? sink.writeBytes(chunk)
              : sink.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString()))
        result.exported += done.count
        result.perFile[done.first!.file] = (result.perFile[done.first!.file] ?? 0) + done.count
        first ??= done.first
        last = done.last
        if (
          request.onProgress &&
          Math.floor(result.exported / PROGRESS_EVERY) > Math.floor((result.exported - done.count) / PROGRESS_EVERY)
        )
          request.onProgress(result.exported)
        if (request.stopped?.()) break
      }
    }
    outer: for (const [i, file] of threads > 0 ? [] : files.entries()) {
      const skipUpTo = i === 0 ? resume.afterLine : 0
      const name = basename(file.path)
      let fromFile = 0
      for await (const batch of decodeFile(file, read, diagnostics, {needles: filter.lineNeedles})) {
        const start = batch.findIndex((located) => located.line > skipUpTo)
        if (start < 0) continue
        const chosen = start === 0 ? batch : batch.slice(start)
        if (perRecord) {
          for (const located of chosen) await writeOne(located)
        } else {
          let text = ''
          for (const located of chosen) text += format.encode(privacy ? privacy.apply(located) : located, result.exported++)
          await put(text, result.exported - chosen.length, chosen.length, position(chosen[0]), position(chosen.at(-1)!))
        }
        fromFile += chosen.length
        last = position(chosen.at(-1)!)
        first ??= position(chosen[0])
        if (
          request.onProgress &&
          Math.floor(result.exported / PROGRESS_EVERY) > Math.floor((result.exported - chosen.length) / PROGRESS_EVERY)
        )
          request.onProgress(result.exported)
        if (request.stopped?.()) break outer
      }
      if (fromFile > 0) result.perFile[name] = (result.perFile[name] ?? 0) + fromFile
    }
    if (format.end) await sink.write(format.end)
    await sink.close()
  } catch (error) {
    failure = error
    // A file sink leaves the target as it was (its temp file removed).
    await (sink as Partial<{abort(): Promise<void>}>).abort?.()
  }
  settle()
  if (confirmed) acknowledgedState = await confirmed.state(blocks!.acknowledged)

  if (first) result.first = {file: first.file, line: first.line, timestamp: first.timestamp}
  if (last) result.last = last
  if (last && request.sinceLast && !acknowledges(sink)) pending[0] = [result.exported - 1, stateAt(last)]

  async function writeOne(located: LocatedEntry): Promise<void> {
    await sink.write(format.encode(privacy ? privacy.apply(located) : located, result.exported))
    if (request.sinceLast && acknowledges(sink)) {
      pending.push([result.exported, stateOf(located)])
      settle()
    }
    result.exported++
  }

  if (failure === undefined && request.beforeState) {
    try {
      await request.beforeState(result)
    } catch (error) {
      failure = error
    }
  }
  // A reader that went away (stdout closed) may have dropped what was written last: nothing is acknowledged.
  const cutShort = request.stopped?.() ?? false
  if (request.sinceLast && !cutShort) {
    // Everything when the sink closed cleanly; else only what an acknowledging sink confirmed.
    const state = failure === undefined ? (pending.at(-1)?.[1] ?? acknowledgedState) : acknowledges(sink) ? acknowledgedState : undefined
    if (state && (failure === undefined || request.beforeState === undefined)) {
      await writeState(request.sinceLast, state)
      result.stateWritten = true
    }
  }
  if (failure !== undefined) throw failure
  result.cutShort = cutShort
  return result
}

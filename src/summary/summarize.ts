import {basename} from 'node:path'

import {compileFilter, type FilterSpec} from '../events/filter.js'
import type {Profile} from '../events/model.js'
import {Diagnostics} from '../store/diagnostics.js'
import {listLogFiles} from '../store/files.js'
import {readEntryBatches} from '../store/reader.js'
import {buildReport, SummaryAggregate, type SummaryReport} from './aggregate.js'

export interface SummarizeOptions {
  filter: FilterSpec
  profile?: Profile
  diagnostics?: Diagnostics
  topActors?: number
}

/** Reads a log directory once and builds the summary report. */
export async function summarize(dir: string, options: SummarizeOptions): Promise<SummaryReport> {
  const diagnostics = options.diagnostics ?? new Diagnostics()
  const filter = compileFilter(options.filter)
  const files = await listLogFiles(dir, filter)
  const agg = new SummaryAggregate()
  for await (const batch of readEntryBatches(files, {filter, profile: options.profile, diagnostics})) {
    for (const {entry, time, file, line} of batch) agg.add(entry, time, basename(file), line)
  }
  return buildReport(agg, {
    since: options.filter.since,
    until: options.filter.until,
    files: files.map((f) => f.name),
    problems: diagnostics.counts(),
    topActors: options.topActors,
  })
}

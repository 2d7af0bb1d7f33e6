import {compileFilter, type FilterSpec} from '../events/filter.js'
import type {LocatedEntry, Profile} from '../events/model.js'
import {Diagnostics} from './diagnostics.js'
import {listLogFiles} from './files.js'
import {decodeFile, readEntryBatches} from './reader.js'
import {readLastEntries} from './tail.js'

export interface QueryOptions {
  filter: FilterSpec
  profile?: Profile
  diagnostics?: Diagnostics
  /** Newest first. */
  reverse?: boolean
  /** Matches to skip, then at most `limit` to return. */
  offset?: number
  limit?: number
  /** How the whole log is searched on several threads (tests set these; see findEntryBatches). */
  parallel?: {threads?: number; parallelBytes?: number; rangeBytes?: number}
}

/** Matching entries of a log directory, in chain order or newest first, paginated; streams. */
export async function* queryEntries(dir: string, options: QueryOptions): AsyncGenerator<LocatedEntry[]> {
  const diagnostics = options.diagnostics ?? new Diagnostics()
  const filter = compileFilter(options.filter)
  const files = await listLogFiles(dir, filter)
  const offset = options.offset ?? 0
  const limit = options.limit ?? Number.POSITIVE_INFINITY
  const read = {filter, profile: options.profile, diagnostics}

  if (options.reverse && Number.isFinite(limit)) {
    // Newest first with a limit: read backwards, only as far as needed.
    const {entries} = await readLastEntries(files, offset + limit, read)
    yield entries.reverse().slice(offset, offset + limit)
    return
  }

  let skipped = 0
  let sent = 0
  const page = function* (batch: LocatedEntry[]): Generator<LocatedEntry[]> {
    let from = 0
    if (skipped < offset) {
      from = Math.min(batch.length, offset - skipped)
      skipped += from
    }
    const out = batch.slice(from, from + (limit - sent))
    sent += out.length
    if (out.length > 0) yield out
  }

  if (options.reverse) {
    // Newest first without a limit: one file at a time, so memory is bounded by a file's matches.
    for (let i = files.length - 1; i >= 0; i--) {
      const matches: LocatedEntry[] = []
      for await (const batch of decodeFile(files[i], read, diagnostics)) matches.push(...batch)
      yield* page(matches.reverse())
    }
    return
  }

  // The whole log in order: found on every core (store/count.ts), as the same batches the reader gives.
  const batches = Number.isFinite(limit)
    ? readEntryBatches(files, read)
    : (await import('./count.js')).findEntryBatches(files, {...read, ...options.parallel, spec: options.filter})
  for await (const batch of batches) {
    yield* page(batch)
    if (sent >= limit) return
  }
}

/** How many entries match (the whole log is read; nothing is kept). */
export async function countEntries(dir: string, options: Omit<QueryOptions, 'reverse' | 'offset' | 'limit'>): Promise<number> {
  // On every core, byte ranges of the files apart: see src/store/count.ts.
  const {countMatches} = await import('./count.js')
  return countMatches(dir, options)
}

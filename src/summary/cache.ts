import {open, readFile, rename, stat, writeFile} from 'node:fs/promises'
import {join, resolve} from 'node:path'

import type {Profile} from '../events/model.js'
import {sha256Hex} from '../chain/hash.js'
import {Diagnostics} from '../store/diagnostics.js'
import {makeDirectory} from '../store/files.js'
import {SummaryAggregate, type SerializedAggregate} from './aggregate.js'
import type {RangeEnd} from './scan.js'
import type {FileSummary} from './summarize.js'

const VERSION = 2

interface CachedFile {
  key: string
  profile: Profile | null
  aggregate: SerializedAggregate
  diagnostics: ReturnType<Diagnostics['toJSON']>
  /** Where the file's scan ended cleanly, and its lines so far: a file that grew is scanned from there. */
  extend?: Extent
}

/** A clean end of a file's scan (RangeEnd) and the lines before it. */
export type Extent = RangeEnd & {lines: number}

/** The cached summary of a file's start, which the file still begins with. */
export interface CachedStart {
  summary: FileSummary
  extent: Extent
}

/** The device and inode part of an identify() key. */
function sameFile(key: string): string {
  return key.split(':', 2).join(':')
}

/**
 * A name for a log directory's cache: 128 bits of FNV-1a (four seeds) over its path. Not a SHA-256:
 * loading node:crypto would cost a warm summary more than the rest of its reading. Two directories
 * of one name would only share a cache file (and evict each other's entries), as every entry is
 * used only for the file it was made from (its inode, size and times).
 */
function directoryId(path: string): string {
  const bytes = Buffer.from(path)
  let id = ''
  for (let seed = 0; seed < 4; seed++) {
    let hash = 0x811c9dc5 ^ Math.imul(seed, 0x9e3779b9)
    for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193)
    id += (hash >>> 0).toString(16).padStart(8, '0')
  }
  return id
}

/**
 * Whole-file summary aggregates of one log directory, kept between runs. An entry is used only
 * while the file's inode, size, mtime and ctime are unchanged (ctime cannot be set back by a user,
 * so an edit that restores size and mtime still invalidates it). A file that has only grown since
 * (the newest, being written) keeps its cached start: see start().
 */
export class SummaryCache {
  private changed = false

  private constructor(
    private readonly path: string,
    private files: Record<string, CachedFile>,
  ) {}

  static async open(cacheDir: string, logDir: string): Promise<SummaryCache> {
    const id = directoryId(resolve(logDir))
    const path = join(cacheDir, `summary-v${VERSION}-${id}.json`)
    let files: Record<string, CachedFile> = {}
    try {
      const data = JSON.parse(await readFile(path, 'utf8'))
      if (data?.version === VERSION && data.files && typeof data.files === 'object') files = data.files
    } catch {
      // No cache yet, or an unreadable one: start empty.
    }
    return new SummaryCache(path, files)
  }

  /** The identity a cached aggregate is valid for. */
  static async identify(path: string): Promise<{key: string; size: number}> {
    const s = await stat(path, {bigint: true})
    return {key: `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`, size: Number(s.size)}
  }

  get(name: string, key: string, profile: Profile | undefined): FileSummary | undefined {
    const hit = this.files[name]
    if (!hit || hit.key !== key || hit.profile !== (profile ?? null)) return undefined
    return {aggregate: SummaryAggregate.fromJSON(hit.aggregate), diagnostics: Diagnostics.fromJSON(hit.diagnostics)}
  }

  /**
   * The cached summary of the start of a file that changed since (the newest file, written to): only
   * while it is the same file (device and inode), longer than where the scan ended (the same length
   * with a new ctime is an edit), and the bytes just before that point are still the ones scanned.
   * Undefined otherwise: read it whole.
   */
  async start(name: string, path: string, key: string, size: number, profile: Profile | undefined): Promise<CachedStart | undefined> {
    const hit = this.files[name]
    const extent = hit?.extend
    if (!extent || hit.profile !== (profile ?? null) || sameFile(hit.key) !== sameFile(key) || size <= extent.offset) return undefined
    try {
      const handle = await open(path, 'r')
      try {
        const bytes = Buffer.alloc(extent.offset - extent.tailFrom)
        const {bytesRead} = await handle.read(bytes, 0, bytes.length, extent.tailFrom)
        if (bytesRead !== bytes.length || sha256Hex(bytes) !== extent.tailHash) return undefined
      } finally {
        await handle.close()
      }
    } catch {
      return undefined
    }
    return {summary: {aggregate: SummaryAggregate.fromJSON(hit.aggregate), diagnostics: Diagnostics.fromJSON(hit.diagnostics)}, extent}
  }

  set(name: string, key: string, profile: Profile | undefined, summary: FileSummary, extend?: Extent): void {
    this.files[name] = {
      key,
      profile: profile ?? null,
      aggregate: summary.aggregate.toJSON(),
      diagnostics: summary.diagnostics.toJSON(),
      ...(extend ? {extend} : {}),
    }
    this.changed = true
  }

  /** Writes the cache (0600, in a 0700 directory), dropping files no longer in the directory. */
  async save(present: string[]): Promise<void> {
    const keep = new Set(present)
    for (const name of Object.keys(this.files)) {
      if (!keep.has(name)) {
        delete this.files[name]
        this.changed = true
      }
    }
    if (!this.changed) return
    try {
      makeDirectory(join(this.path, '..'))
      const tmp = `${this.path}.${process.pid}.tmp`
      await writeFile(tmp, JSON.stringify({version: VERSION, files: this.files}), {mode: 0o600})
      await rename(tmp, this.path)
    } catch {
      // A cache that cannot be written only costs speed next time.
    }
  }
}

import {readFile, rename, stat, writeFile} from 'node:fs/promises'
import {join, resolve} from 'node:path'

import type {Profile} from '../events/model.js'
import {sha256Hex} from '../chain/hash.js'
import {Diagnostics} from '../store/diagnostics.js'
import {makeDirectory} from '../store/files.js'
import {SummaryAggregate, type SerializedAggregate} from './aggregate.js'
import type {FileSummary} from './summarize.js'

const VERSION = 2

interface CachedFile {
  key: string
  profile: Profile | null
  aggregate: SerializedAggregate
  diagnostics: ReturnType<Diagnostics['toJSON']>
}

/**
 * Whole-file summary aggregates of one log directory, kept between runs. An entry is used only
 * while the file's inode, size, mtime and ctime are unchanged (ctime cannot be set back by a user,
 * so an edit that restores size and mtime still invalidates it).
 */
export class SummaryCache {
  private changed = false

  private constructor(
    private readonly path: string,
    private files: Record<string, CachedFile>,
  ) {}

  static async open(cacheDir: string, logDir: string): Promise<SummaryCache> {
    const id = sha256Hex(resolve(logDir)).slice(0, 32)
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

  set(name: string, key: string, profile: Profile | undefined, summary: FileSummary): void {
    this.files[name] = {key, profile: profile ?? null, aggregate: summary.aggregate.toJSON(), diagnostics: summary.diagnostics.toJSON()}
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

import {randomBytes} from 'node:crypto'
import {type FileHandle, open, rename, unlink} from 'node:fs/promises'
import {basename, dirname, join, resolve} from 'node:path'

import {AuditError, OutsideError} from '../errors.js'
import {describeFsError} from '../store/files.js'
import {fsyncDir} from '../store/rotate.js'
import type {Sink} from './sink.js'

/** Storage refusing bytes is an outside failure (exit 3); anything else about the path is the user's (exit 2). */
const STORAGE = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'EROFS', 'EIO'])

function fileError(path: string, error: unknown): AuditError {
  const message = `${path}: ${describeFsError(error)}`
  return STORAGE.has((error as NodeJS.ErrnoException).code ?? '') ? new OutsideError(message) : new AuditError(message)
}

/**
 * Writes a file atomically: records go to a temporary file (0600) beside the target, which `close`
 * syncs and renames over it, so a reader sees the old file or the whole new one, never a part.
 * `abort` (or a failure) removes the temporary file and leaves the target untouched.
 */
export class FileSink implements Sink {
  readonly name: string
  private buffer: string[] = []
  private size = 0
  private done = false

  private constructor(
    readonly path: string,
    private readonly temp: string,
    private readonly handle: FileHandle,
    private readonly limit: number,
  ) {
    this.name = path
  }

  static async open(target: string, options: {bufferBytes?: number} = {}): Promise<FileSink> {
    const path = resolve(target)
    const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
    let handle: FileHandle
    try {
      handle = await open(temp, 'wx', 0o600)
    } catch (error) {
      throw fileError(path, error)
    }
    return new FileSink(path, temp, handle, options.bufferBytes ?? 256 * 1024)
  }

  async write(record: string): Promise<void> {
    if (this.done) throw new Error(`${this.path}: write after close`)
    this.buffer.push(record)
    this.size += record.length
    if (this.size >= this.limit) await this.writeOut()
  }

  async writeBytes(bytes: Uint8Array): Promise<void> {
    if (this.done) throw new Error(`${this.path}: write after close`)
    await this.writeOut()
    await this.writeAll(bytes)
  }

  /** Everything written so far is in the temporary file and on disk (the target appears on close). */
  async flush(): Promise<void> {
    await this.writeOut()
    await this.guard(() => this.handle.sync())
  }

  /** Syncs, renames over the target, syncs the directory. */
  async close(): Promise<void> {
    if (this.done) return
    await this.flush()
    this.done = true
    await this.guard(async () => {
      await this.handle.close()
      await rename(this.temp, this.path)
      fsyncDir(dirname(this.path))
    })
  }

  /** Drops what was written: the target is left as it was. */
  async abort(): Promise<void> {
    if (this.done) return
    this.done = true
    await this.handle.close().catch(() => undefined)
    await unlink(this.temp).catch(() => undefined)
  }

  private async writeOut(): Promise<void> {
    if (this.buffer.length === 0) return
    const data = Buffer.from(this.buffer.join(''))
    this.buffer = []
    this.size = 0
    await this.writeAll(data)
  }

  private async writeAll(data: Uint8Array): Promise<void> {
    // A write may take only part of the data (a file size limit reached mid-buffer); the next one then fails.
    await this.guard(async () => {
      for (let done = 0; done < data.length; ) done += (await this.handle.write(data, done)).bytesWritten
    })
  }

  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (error) {
      await this.abort()
      throw fileError(this.path, error)
    }
  }
}

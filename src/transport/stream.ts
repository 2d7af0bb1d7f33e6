import type {Writable} from 'node:stream'

import {OutsideError} from '../errors.js'
import type {Sink} from './sink.js'

/**
 * Buffered writing to any Writable (stdout by default) that waits for it to drain, so a long
 * stream neither piles up in memory nor loses its tail; a closed pipe (`| head`) ends the command
 * quietly: writes are dropped and `isClosed` tells producers to stop.
 */
export class StreamSink implements Sink {
  readonly name: string
  private buffer: string[] = []
  private size = 0
  private closed = false
  private failure: Error | undefined

  constructor(
    private readonly stream: Writable = process.stdout,
    private readonly limit = 64 * 1024,
    name = 'stdout',
  ) {
    this.name = name
    stream.on('error', (error: NodeJS.ErrnoException) => {
      this.closed = true
      // The reader went away: not an error. Anything else is told by the next write or flush.
      if (error.code !== 'EPIPE') this.failure = error
    })
  }

  /** True once the reader went away; producers should stop. */
  get isClosed(): boolean {
    return this.closed
  }

  async write(text: string): Promise<void> {
    this.check()
    if (this.closed) return
    this.buffer.push(text)
    this.size += text.length
    if (this.size >= this.limit) await this.flush()
  }

  async writeBytes(bytes: Uint8Array): Promise<void> {
    await this.flush()
    if (this.closed) return
    await this.send(bytes)
  }

  async flush(): Promise<void> {
    this.check()
    if (this.buffer.length === 0 || this.closed) return
    const text = this.buffer.join('')
    this.buffer = []
    this.size = 0
    await this.send(text)
  }

  /** Writes to the stream, waiting for it to drain when it asks to. */
  private async send(data: string | Uint8Array): Promise<void> {
    if (!this.stream.write(data)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.stream.off('drain', done)
          this.stream.off('close', done)
          this.stream.off('error', done)
          resolve()
        }
        this.stream.on('drain', done)
        this.stream.on('close', done)
        this.stream.on('error', done)
      })
    }
    this.check()
  }

  /** Flushes; the stream itself stays open (stdout belongs to the process). */
  async close(): Promise<void> {
    await this.flush()
  }

  private check(): void {
    if (this.failure) throw new OutsideError(`${this.name}: ${this.failure.message}`)
  }
}

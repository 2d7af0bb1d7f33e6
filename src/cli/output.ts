/**
 * Buffered writing to stdout that waits for the pipe to drain, so a long stream neither piles up
 * in memory nor loses its tail; a closed pipe (`| head`) ends the command quietly.
 */
export class Output {
  private buffer: string[] = []
  private size = 0
  private closed = false

  constructor(private readonly stream: NodeJS.WriteStream = process.stdout, private readonly limit = 64 * 1024) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      // Any failure ends the writing; on stdout, guardStdout (stdout-guard.ts) reports all but EPIPE (exit 3).
      this.closed = true
    })
  }

  /** True once the reader went away; producers should stop. */
  get isClosed(): boolean {
    return this.closed
  }

  async write(text: string): Promise<void> {
    if (this.closed) return
    this.buffer.push(text)
    this.size += text.length
    if (this.size >= this.limit) await this.flush()
  }

  async flush(): Promise<void> {
    if (this.buffer.length === 0 || this.closed) return
    const text = this.buffer.join('')
    this.buffer = []
    this.size = 0
    if (!this.stream.write(text)) {
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
  }
}

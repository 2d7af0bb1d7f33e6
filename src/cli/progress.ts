/**
 * One status line on stderr for long runs, redrawn in place at most five times a second — only
 * when stderr is a terminal: pipes, files and cron get nothing (a log must not fill with frames).
 */
export class Progress {
  private last = 0
  private shown = false

  private constructor(private readonly stream: NodeJS.WriteStream) {}

  /** A Progress when `stream` is a terminal and the caller wants one; undefined otherwise. */
  static forTerminal(wanted = true, stream: NodeJS.WriteStream = process.stderr): Progress | undefined {
    return wanted && stream.isTTY ? new Progress(stream) : undefined
  }

  show(text: string): void {
    const now = Date.now()
    if (now - this.last < 200) return
    this.last = now
    this.shown = true
    this.stream.write(`\r\u001B[K${text}`)
  }

  /** Erases the line, before other output or at the end. */
  clear(): void {
    if (this.shown) this.stream.write('\r\u001B[K')
    this.shown = false
  }
}

import {connect as connectTcp, isIP, type Socket} from 'node:net'
import {connect as connectTls, type ConnectionOptions as TlsOptions} from 'node:tls'

import {OutsideError} from '../errors.js'
import {FRAMINGS} from '../formats/framing.js'
import {describeNetError, netFailure} from './net-error.js'
import type {Sink} from './sink.js'

export interface SyslogStreamOptions {
  host: string
  port: number
  /** TLS (RFC 5425) with these options (ca, cert, key); plain TCP when absent. */
  tls?: TlsOptions
  /** LF after each message (RFC 6587 §3.4.2) or octet counting (§3.4.1; always for TLS). */
  framing?: 'newline' | 'octet-counting'
  /** Records waiting to be sent before `overflow` applies (default 10,000). */
  queueLimit?: number
  /** A full queue makes `write` wait (a reader that can pause: tail) or drops the oldest record (the writer: never blocked). */
  overflow?: 'wait' | 'drop'
  /** After a broken connection, records handed to the kernel this recently are sent again (default 5 s)… */
  replayMs?: number
  /** …at most this many bytes of them (default 8 MiB). */
  replayBytes?: number
  connectTimeoutMs?: number
  retryMinMs?: number
  retryMaxMs?: number
  /** The first connection failing rejects `open` (the user asked for delivery); otherwise it is retried. */
  failFast?: boolean
  /** Give up on records still queued this long after `close` starts (default 10 s). */
  closeTimeoutMs?: number
  /** Neither the socket nor a retry timer keeps the process alive (forwarding from the writer). */
  unref?: boolean
  /** Told once per outage, and when records are dropped; default: ignored. */
  onWarning?: (message: string) => void
}

interface Sent {
  data: Buffer
  at: number
}

/**
 * Syslog over TCP (RFC 6587) or TLS (RFC 5425): a bounded queue, reconnection with exponential
 * backoff when the server goes away, and at-least-once delivery across a broken connection:
 * plain TCP carries no acknowledgement, so bytes the kernel took may die in a buffer with the
 * server; the records handed over in the last `replayMs` are sent again after reconnecting, and
 * a receiver may see a few twice.
 */
export class SyslogStreamSink implements Sink {
  readonly name: string
  private readonly frame: (record: string) => string
  private queue: Buffer[] = []
  private inflight: Array<{records: Buffer[]}> = []
  /** Recently sent records, oldest first from `sentHead` (a queue without shifting). */
  private sent: Sent[] = []
  private sentHead = 0
  private pumpScheduled = false
  private sentBytes = 0
  private socket: Socket | undefined
  private connected = false
  private everConnected = false
  private attempts = 0
  private retryTimer: NodeJS.Timeout | undefined
  private lastError: Error | undefined
  private failure: OutsideError | undefined
  private outageTold = false
  private closing = false
  private dropped = 0
  private waiters: Array<{ready: () => boolean; resolve: () => void; reject: (error: Error) => void}> = []
  private readonly options: Required<Omit<SyslogStreamOptions, 'tls' | 'onWarning'>> & Pick<SyslogStreamOptions, 'tls' | 'onWarning'>

  private constructor(options: SyslogStreamOptions) {
    this.options = {
      framing: options.tls ? 'octet-counting' : 'newline',
      queueLimit: 10_000,
      overflow: 'wait',
      replayMs: 5000,
      replayBytes: 8 * 1024 * 1024,
      connectTimeoutMs: 10_000,
      retryMinMs: 100,
      retryMaxMs: 10_000,
      failFast: true,
      closeTimeoutMs: 10_000,
      unref: false,
      ...Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)),
    } as typeof this.options
    // RFC 5425 §4.3: octet counting is the only framing over TLS.
    if (options.tls) this.options.framing = 'octet-counting'
    const framing = FRAMINGS[this.options.framing]
    this.frame = (record) => framing.frame(record, 0)
    this.name = `${options.tls ? 'tls' : 'tcp'}://${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`
  }

  /** Connects; with failFast (the default) resolves once connected and rejects with an OutsideError if it cannot. */
  static async open(options: SyslogStreamOptions): Promise<SyslogStreamSink> {
    const sink = new SyslogStreamSink(options)
    sink.connect()
    if (sink.options.failFast) await sink.until(() => sink.connected)
    return sink
  }

  /** Records dropped because the queue was full (overflow `drop`). */
  get droppedRecords(): number {
    return this.dropped
  }

  async write(record: string): Promise<void> {
    if (this.failure) throw this.failure
    if (this.closing) throw new Error(`${this.name}: write after close`)
    if (this.queue.length >= this.options.queueLimit) {
      if (this.options.overflow === 'drop') {
        this.queue.shift()
        if (this.dropped++ === 0) this.warn(`${this.name}: queue full (${this.options.queueLimit} records); dropping the oldest`)
      } else {
        await this.until(() => this.queue.length < this.options.queueLimit)
      }
    }
    this.queue.push(Buffer.from(this.frame(record)))
    // Records written in one turn of the event loop leave together: one write(2), not one each.
    if (!this.pumpScheduled) {
      this.pumpScheduled = true
      setImmediate(() => {
        this.pumpScheduled = false
        this.pump()
      })
    }
  }

  /** Resolves when every record written so far is handed to the kernel on a live connection. */
  flush(): Promise<void> {
    return this.until(() => this.queue.length === 0 && this.inflight.length === 0)
  }

  /** Flushes (giving up after closeTimeoutMs), then ends the connection (TLS: close_notify). */
  async close(): Promise<void> {
    if (this.closing) return
    this.closing = true
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      // Not unref'd even with `unref`: a caller awaiting close() is owed an answer.
      timer = setTimeout(
        () =>
          reject(
            new OutsideError(
              `${this.name}: ${this.queue.length + this.inflight.reduce((n, b) => n + b.records.length, 0)} records not delivered: ${this.lastError ? describeNetError(this.lastError) : 'server not reachable'}`,
            ),
          ),
        this.options.closeTimeoutMs,
      )
    })
    try {
      if (!this.failure) await Promise.race([this.flush(), timeout])
    } finally {
      clearTimeout(timer)
      clearTimeout(this.retryTimer)
      await this.disconnect()
    }
    if (this.failure) throw this.failure
  }

  private disconnect(): Promise<void> {
    const socket = this.socket
    if (!socket) return Promise.resolve()
    return new Promise((resolve) => {
      const force = setTimeout(() => socket.destroy(), 2000)
      socket.once('close', () => {
        clearTimeout(force)
        resolve()
      })
      socket.end()
    })
  }

  private connect(): void {
    this.retryTimer = undefined
    const {host, port, tls, connectTimeoutMs} = this.options
    const socket = tls
      ? connectTls({host, port, servername: isIP(host) ? undefined : host, minVersion: 'TLSv1.2', ...tls})
      : connectTcp({host, port})
    this.socket = socket
    socket.setNoDelay(true)
    socket.setTimeout(connectTimeoutMs, () => socket.destroy(Object.assign(new Error('timed out'), {code: 'ETIMEDOUT'})))
    socket.once(tls ? 'secureConnect' : 'connect', () => {
      socket.setTimeout(0)
      this.connected = true
      this.everConnected = true
      this.attempts = 0
      if (this.outageTold) this.warn(`${this.name}: connected again`)
      this.outageTold = false
      this.pump()
      this.settle()
    })
    socket.on('error', (error) => {
      this.lastError = error
    })
    socket.on('data', () => undefined) // a syslog server sends nothing; whatever comes is discarded
    socket.on('drain', () => this.pump())
    socket.on('close', () => this.onClose(socket))
    if (this.options.unref) socket.unref()
  }

  private onClose(socket: Socket): void {
    if (this.socket !== socket) return
    this.socket = undefined
    this.connected = false
    if (this.closing) return // ended by close(), after the flush (or its timeout)
    // Back in order: what may have died in the kernel's or the server's buffers, what was being written, what waited.
    const now = Date.now()
    const replay = this.sent
      .slice(this.sentHead)
      .filter((s) => s.at >= now - this.options.replayMs)
      .map((s) => s.data)
    this.queue = [...replay, ...this.inflight.flatMap((b) => b.records), ...this.queue]
    this.inflight = []
    this.sent = []
    this.sentHead = 0
    this.sentBytes = 0
    if (!this.everConnected && this.options.failFast) {
      this.failure = netFailure(this.name, this.lastError ?? new Error('connection closed'))
      this.settle()
      return
    }
    if (!this.outageTold) {
      this.outageTold = true
      this.warn(`${this.name}: ${this.lastError ? describeNetError(this.lastError) : 'connection closed by the server'}; retrying`)
    }
    const delay = Math.min(this.options.retryMaxMs, this.options.retryMinMs * 2 ** this.attempts++)
    this.retryTimer = setTimeout(() => this.connect(), delay * (0.5 + Math.random() / 2))
    if (this.options.unref) this.retryTimer.unref()
  }

  /** Writes queued records in chunks while the socket takes them. */
  private pump(): void {
    const socket = this.socket
    while (this.connected && socket && this.queue.length > 0 && !socket.writableNeedDrain) {
      let bytes = 0
      let n = 0
      while (n < this.queue.length && n < 1024 && bytes < 256 * 1024) bytes += this.queue[n++].length
      const records = this.queue.splice(0, n)
      const batch = {records}
      this.inflight.push(batch)
      socket.write(records.length === 1 ? records[0] : Buffer.concat(records, bytes), (error) => {
        if (error) return // the close handler puts it back in the queue
        // Callbacks come in write order: the batch is almost always the first.
        this.inflight.splice(this.inflight.indexOf(batch), 1)
        this.remember(records)
        this.settle()
      })
    }
    this.settle()
  }

  /** Keeps the recently sent records for a replay after a broken connection. */
  private remember(records: Buffer[]): void {
    const now = Date.now()
    for (const data of records) {
      this.sent.push({data, at: now})
      this.sentBytes += data.length
    }
    const {sent} = this
    while (
      this.sentHead < sent.length &&
      (this.sentBytes > this.options.replayBytes || sent[this.sentHead].at < now - this.options.replayMs)
    )
      this.sentBytes -= sent[this.sentHead++].data.length
    // Compacted once the dropped head is the larger part, so the cost per record stays constant.
    if (this.sentHead > 1024 && this.sentHead * 2 > sent.length) {
      this.sent = sent.slice(this.sentHead)
      this.sentHead = 0
    }
  }

  /** Resolves when `ready()` holds, rejects when the sink failed for good. */
  private until(ready: () => boolean): Promise<void> {
    if (this.failure) return Promise.reject(this.failure)
    if (ready()) return Promise.resolve()
    return new Promise((resolve, reject) => this.waiters.push({ready, resolve, reject}))
  }

  private settle(): void {
    if (this.waiters.length === 0) return
    const waiting = this.waiters
    this.waiters = []
    for (const waiter of waiting) {
      if (this.failure) waiter.reject(this.failure)
      else if (waiter.ready()) waiter.resolve()
      else this.waiters.push(waiter)
    }
  }

  private warn(message: string): void {
    this.options.onWarning?.(message)
  }
}

import {hostname} from 'node:os'

import syslog from 'syslog-client'

import {netFailure} from './net-error.js'
import type {Sink} from './sink.js'

export interface SyslogClientSinkOptions {
  host: string
  port: number
  protocol: 'udp' | 'tcp'
  /** APP-NAME of the header syslog-client writes (default auditkit). */
  appName?: string
  /** Records waiting before `write` waits (or, with overflow `drop`, the oldest is dropped). */
  queueLimit?: number
  overflow?: 'wait' | 'drop'
  failFast?: boolean
  retryMinMs?: number
  retryMaxMs?: number
  closeTimeoutMs?: number
  onWarning?: (message: string) => void
}

const PRI = /^<(\d{1,3})>/

/**
 * Sends `<PRI>body` records (the `syslog` format, what `logger --prio-prefix` reads) through npm
 * syslog-client, which writes the RFC 5424 header itself as logger would: the time of sending,
 * this host, APP-NAME, its own pid, no MSGID, no structured data. Around its defects: facility
 * and severity are passed on every message (its constructor values are ignored or mangled), an
 * `error` listener is always attached (its idle TCP timeout emits errors on a healthy connection,
 * which would otherwise crash the process), and records are single lines already. A failed send
 * is retried with backoff (the client reconnects on the next send); there is no replay of what a
 * dying connection swallowed: forward rfc5424 for that.
 */
export class SyslogClientSink implements Sink {
  readonly name: string
  private readonly client: syslog.Client
  private queue: string[] = []
  private sending = false
  private delivered = false
  private attempts = 0
  private failure: Error | undefined
  private waiters: Array<() => void> = []
  private closed = false
  private outageTold = false
  private readonly options: Required<Omit<SyslogClientSinkOptions, 'onWarning'>> & Pick<SyslogClientSinkOptions, 'onWarning'>

  constructor(options: SyslogClientSinkOptions) {
    this.options = {
      appName: 'auditkit',
      queueLimit: 10_000,
      overflow: 'wait',
      failFast: true,
      retryMinMs: 100,
      retryMaxMs: 10_000,
      closeTimeoutMs: 10_000,
      ...Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)),
    } as typeof this.options
    this.name = `${options.protocol}://${options.host}:${options.port}`
    this.client = syslog.createClient(options.host, {
      port: options.port,
      transport: options.protocol === 'tcp' ? syslog.Transport.Tcp : syslog.Transport.Udp,
      syslogHostname: hostname().replace(/[^\x21-\x7e]/g, '_'),
      appName: this.options.appName,
      rfc3164: false,
    })
    // Without a listener its idle timeout ("connection timed out") would be an unhandled 'error'.
    this.client.on('error', () => undefined)
  }

  async write(record: string): Promise<void> {
    if (this.failure) throw this.failure
    while (this.queue.length >= this.options.queueLimit) {
      if (this.options.overflow === 'drop') {
        this.queue.shift()
        continue
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve))
      if (this.failure) throw this.failure
    }
    this.queue.push(record)
    void this.pump()
  }

  async flush(): Promise<void> {
    while (!this.failure && (this.queue.length > 0 || this.sending)) await new Promise<void>((resolve) => this.waiters.push(resolve))
    if (this.failure) throw this.failure
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    let timer: NodeJS.Timeout | undefined
    try {
      await Promise.race([
        this.flush(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(netFailure(this.name, new Error(`${this.queue.length} records not delivered`))),
            this.options.closeTimeoutMs,
          )
        }),
      ])
    } finally {
      clearTimeout(timer)
      this.client.close()
    }
  }

  /** One message at a time, in order; a failed one is retried after a backoff. */
  private async pump(): Promise<void> {
    if (this.sending) return
    this.sending = true
    try {
      while (this.queue.length > 0 && !this.failure) {
        const record = this.queue[0]
        const match = PRI.exec(record)
        const pri = match ? Number(match[1]) : 13 // user.notice, as logger
        const body = match ? record.slice(match[0].length) : record
        const error = await new Promise<Error | undefined>((resolve) => {
          this.client.log(body, {facility: pri >> 3, severity: pri & 7, rfc3164: false, appName: this.options.appName}, resolve)
        })
        if (!error) {
          this.queue.shift()
          this.delivered = true
          this.attempts = 0
          if (this.outageTold) this.options.onWarning?.(`${this.name}: connected again`)
          this.outageTold = false
          this.wake()
          continue
        }
        if (!this.delivered && this.options.failFast) {
          this.failure = netFailure(this.name, error)
          break
        }
        if (!this.outageTold)
          this.options.onWarning?.(`${this.name}: ${netFailure(this.name, error).message.slice(this.name.length + 2)}; retrying`)
        this.outageTold = true
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(this.options.retryMaxMs, this.options.retryMinMs * 2 ** this.attempts++)),
        )
      }
    } finally {
      this.sending = false
      this.wake()
    }
  }

  private wake(): void {
    const waiting = this.waiters
    this.waiters = []
    for (const resolve of waiting) resolve()
  }
}

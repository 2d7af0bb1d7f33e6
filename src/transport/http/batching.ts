import {Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders} from 'node:http'
import {Agent as HttpsAgent, request as httpsRequest} from 'node:https'
import {createGzip} from 'node:zlib'

import {OutsideError} from '../../errors.js'
import type {Sink} from '../sink.js'

export interface HttpSinkOptions {
  /** A batch is sent when it holds this many records or this many bytes, and at close. */
  batchCount?: number
  batchBytes?: number
  /** Attempts after the first, for 429, 5xx and dropped connections. */
  retries?: number
  /** Backoff: base * 2^attempt, capped, with full jitter; a Retry-After header wins. */
  backoffMs?: number
  maxBackoffMs?: number
  gzip?: boolean
  /** zlib level of gzipped bodies: 1 by default (measured in BENCHMARKS.md: much faster, a little larger). */
  gzipLevel?: number
  /** Batches sent before the first is answered: the next is built and compressed meanwhile (default 2). */
  inFlight?: number
  timeoutMs?: number
  tls?: {ca?: Buffer; cert?: Buffer; key?: Buffer}
}

export interface HttpResponse {
  status: number
  headers: IncomingHttpHeaders
  /** The answer's text, decoded when first read (a long `_bulk` answer whose head says enough is never decoded). */
  readonly body: string
  /** The answer's first `bytes` bytes as text. */
  head(bytes: number): string
}

/**
 * What the API said about a batch: all taken; some (`only`: their positions in the records judged,
 * ascending) or all to send again; or a failure not worth retrying, with the position of the first
 * record not taken when the API said which (else none of them counts as taken).
 */
export type Verdict =
  | {kind: 'delivered'}
  | {kind: 'retry'; only?: number[]; reason: string; afterMs?: number}
  | {kind: 'fail'; reason: string; firstUndelivered?: number}

/** Seconds or an HTTP date (RFC 9110 §10.2.3), as milliseconds from now; undefined when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header
  if (value === undefined || value.trim() === '') return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** The URL for messages: no user, password or query (tokens hide there). */
export function safeUrlName(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`
}

/** Records back to back in their UTF-8 bytes (held in parts, each whole records), record i ending at `ends[i]`. */
export interface Records {
  parts: Buffer[]
  ends: number[]
}

interface Flight {
  count: number
  /** On failure: how many records at the start of the batch the API took. */
  prefix: number
  done: Promise<void>
}

/**
 * A sink for an HTTP ingestion API: records are batched by count and bytes and POSTed in order,
 * up to `inFlight` requests at a time (the next batch is built and compressed while one is
 * answered); 429, 5xx and dropped connections are retried with backoff and jitter (Retry-After
 * honoured). `acknowledged` counts the records confirmed in write order: batches are settled
 * oldest first, and a batch that finally fails adds only the records before its first one not
 * taken. A final failure is an OutsideError of one line naming the URL without its credentials.
 */
export abstract class BatchingHttpSink implements Sink {
  readonly name: string
  acknowledged = 0
  private batch: Records = {parts: [], ends: []}
  private bytes = 0
  private inflight: Flight[] = []
  private failure: unknown
  private readonly options: Required<Omit<HttpSinkOptions, 'tls'>> & Pick<HttpSinkOptions, 'tls'>

  protected constructor(
    protected readonly url: URL,
    options: HttpSinkOptions = {},
  ) {
    this.name = safeUrlName(url)
    // Options left undefined (a flag not given) keep their defaults.
    const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined))
    this.options = {
      batchCount: 5000,
      batchBytes: 5 * 1024 * 1024,
      retries: 6,
      backoffMs: 250,
      maxBackoffMs: 30_000,
      gzip: true,
      gzipLevel: 1,
      inFlight: 2,
      timeoutMs: 60_000,
      ...given,
    }
    // Kept-alive connections, at most one per request in flight (plus an ack poll's).
    const agentOptions = {keepAlive: true, maxSockets: this.options.inFlight + 1}
    this.agent = url.protocol === 'https:' ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions)
  }

  private readonly agent: HttpAgent

  /** Headers of every request (content type, auth). */
  protected abstract headers(): Record<string, string>
  /** The request body of a batch of records: their bytes as they are, in parts (not copied into one). */
  protected body(records: Records): Buffer[] | string {
    return records.parts
  }

  /** Reads the API's answer to a batch of `count` records. */
  protected abstract judge(response: HttpResponse, count: number): Promise<Verdict> | Verdict

  async write(record: string): Promise<void> {
    const data = Buffer.from(record)
    await this.take(data, [data.length])
  }

  /**
   * Adds records (back to back in `data`, record i ending at `ends[i]`) to the batches: a batch is
   * sent once it holds batchCount records or batchBytes bytes, and before a record that would take
   * it past batchBytes; a record larger than batchBytes goes alone (the API may refuse it: a final
   * failure, reported, never a silent loss).
   */
  protected async take(data: Buffer, ends: ArrayLike<number>): Promise<void> {
    if (this.failure !== undefined) throw this.failure
    const {batchCount, batchBytes} = this.options
    // Where the bytes of data not yet in the batch start, and where record i starts.
    let from = 0
    let start = 0
    for (let i = 0; i < ends.length; i++) {
      const end = ends[i]
      if (this.batch.ends.length > 0 && this.bytes + (end - start) > batchBytes) {
        if (start > from) this.batch.parts.push(data.subarray(from, start))
        from = start
        await this.dispatch()
      }
      this.bytes += end - start
      this.batch.ends.push(this.bytes)
      start = end
      if (this.batch.ends.length >= batchCount || this.bytes >= batchBytes) {
        this.batch.parts.push(data.subarray(from, end))
        from = end
        await this.dispatch()
      }
    }
    if (start > from) this.batch.parts.push(data.subarray(from, start))
  }

  async flush(): Promise<void> {
    if (this.failure !== undefined) throw this.failure
    if (this.batch.ends.length > 0) await this.dispatch()
    while (this.inflight.length > 0) await this.settleOldest()
  }

  async close(): Promise<void> {
    try {
      await this.flush()
    } finally {
      this.agent.destroy()
    }
  }

  /** Sends the batch being built, once fewer than `inFlight` are unanswered. */
  private async dispatch(): Promise<void> {
    while (this.inflight.length >= this.options.inFlight) await this.settleOldest()
    const records = this.batch
    this.batch = {parts: [], ends: []}
    this.bytes = 0
    const flight: Flight = {count: records.ends.length, prefix: 0, done: Promise.resolve()}
    flight.done = this.deliver(records, flight)
    // Awaited in order by settleOldest; a failure of a later batch while an earlier one is still out is not unhandled.
    flight.done.catch(() => undefined)
    this.inflight.push(flight)
  }

  private async settleOldest(): Promise<void> {
    const flight = this.inflight[0]
    try {
      await flight.done
    } catch (error) {
      // Later batches may have landed too; they are not counted, and a resend finds them there (409).
      this.acknowledged += flight.prefix
      this.inflight = []
      this.failure = error
      throw error
    }
    this.inflight.shift()
    this.acknowledged += flight.count
  }

  private async deliver(all: Records, flight: Flight): Promise<void> {
    let records = all
    // Where each record being sent sits in the batch, ascending.
    let positions = all.ends.map((_, i) => i)
    let lastReason = ''
    for (let attempt = 0; ; attempt++) {
      let verdict: Verdict
      try {
        verdict = await this.judge(await this.post(this.url, this.body(records)), records.ends.length)
      } catch (error) {
        if (error instanceof OutsideError) {
          flight.prefix = positions[0]
          throw error
        }
        verdict = {kind: 'retry', reason: describeNetworkError(error)}
      }
      if (verdict.kind === 'delivered') return
      if (verdict.kind === 'fail') {
        flight.prefix = positions[verdict.firstUndelivered ?? 0]
        throw new OutsideError(`${this.name}: ${verdict.reason}`)
      }
      lastReason = verdict.reason
      if (verdict.only) {
        const only = verdict.only
        records = pick(records, only)
        positions = only.map((i) => positions[i])
      }
      if (attempt >= this.options.retries) {
        flight.prefix = positions[0]
        throw new OutsideError(`${this.name}: ${lastReason}; gave up after ${attempt + 1} attempts`)
      }
      const backoff = Math.min(this.options.maxBackoffMs, this.options.backoffMs * 2 ** attempt)
      await sleep(verdict.afterMs ?? backoff / 2 + (Math.random() * backoff) / 2)
    }
  }

  /** One POST, gzipped when asked (on libuv's threads); resolves with the whole response. */
  protected async post(url: URL, body: Buffer[] | string, extraHeaders: Record<string, string> = {}): Promise<HttpResponse> {
    const parts = typeof body === 'string' ? [Buffer.from(body)] : body
    const payload = this.options.gzip ? await gzipParts(parts, this.options.gzipLevel) : parts
    let length = 0
    for (const part of payload) length += part.length
    const headers: Record<string, string> = {...this.headers(), ...extraHeaders, 'content-length': String(length)}
    if (this.options.gzip) headers['content-encoding'] = 'gzip'
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest
    return new Promise((resolve, reject) => {
      const req = send(url, {method: 'POST', headers, timeout: this.options.timeoutMs, agent: this.agent, ...this.options.tls}, (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (chunk: Buffer) => {
          // Only the start of a huge answer is kept: enough for errors, bounded in memory.
          size += chunk.length
          if (size <= 64 * 1024 * 1024) chunks.push(chunk)
        })
        res.on('end', () => resolve(response(res.statusCode ?? 0, res.headers, chunks)))
        res.on('error', reject)
      })
      req.on('timeout', () => req.destroy(new Error(`no answer in ${this.options.timeoutMs} ms`)))
      req.on('error', reject)
      for (const part of payload) req.write(part)
      req.end()
    })
  }
}

/** An answer whose text is decoded only when read. */
function response(status: number, headers: IncomingHttpHeaders, chunks: Buffer[]): HttpResponse {
  let text: string | undefined
  return {
    status,
    headers,
    get body() {
      text ??= Buffer.concat(chunks).toString('utf8')
      return text
    },
    head(bytes) {
      if (text !== undefined) return text.slice(0, bytes)
      let n = 0
      for (let size = 0; n < chunks.length && size < bytes; n++) size += chunks[n].length
      return Buffer.concat(chunks.slice(0, n)).toString('utf8', 0, bytes)
    },
  }
}

/**
 * Parts gzipped as one member, without copying them into one buffer first (zlib.gzip of the
 * concatenation cost the main thread 4× the CPU). memLevel 9 and 1 MiB output chunks: about 10%
 * less CPU at level 1 on ecs-bulk text, the same size.
 */
function gzipParts(parts: Buffer[], level: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = []
    const gzip = createGzip({level, memLevel: 9, chunkSize: 1024 * 1024})
    gzip.on('data', (chunk: Buffer) => out.push(chunk))
    gzip.on('end', () => resolve(out))
    gzip.on('error', reject)
    for (const part of parts) gzip.write(part)
    gzip.end()
  })
}

/** The records at `positions` (ascending) of a batch, as a batch of their own. */
function pick(records: Records, positions: number[]): Records {
  const all = records.parts.length === 1 ? records.parts[0] : Buffer.concat(records.parts)
  const parts: Buffer[] = []
  const ends: number[] = []
  let bytes = 0
  for (const i of positions) {
    const start = i === 0 ? 0 : records.ends[i - 1]
    parts.push(all.subarray(start, records.ends[i]))
    bytes += records.ends[i] - start
    ends.push(bytes)
  }
  return {parts, ends}
}

/** Each record's text (for an API whose body is built from parsed records). */
export function recordTexts(records: Records): string[] {
  const all = records.parts.length === 1 ? records.parts[0] : Buffer.concat(records.parts)
  return records.ends.map((end, i) => all.toString('utf8', i === 0 ? 0 : records.ends[i - 1], end))
}

/** Whether a status is worth sending again (rate limits and server trouble). */
export function retryable(status: number): boolean {
  return status === 429 || status === 408 || status >= 500
}

/** Retry for 429/5xx (with the Retry-After), fail otherwise; `what` says what the API answered. */
export function statusVerdict(response: HttpResponse, what: string): Verdict {
  const reason = `HTTP ${response.status}${what ? ` (${what})` : ''}`
  return retryable(response.status)
    ? {kind: 'retry', reason, afterMs: retryAfterMs(response.headers['retry-after'])}
    : {kind: 'fail', reason}
}

function describeNetworkError(error: unknown): string {
  const {code, message} = error as NodeJS.ErrnoException
  if (code === 'ECONNREFUSED') return 'connection refused'
  if (code === 'ECONNRESET' || message === 'socket hang up') return 'connection dropped'
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found'
  return code ? `${code} (${message})` : message
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    setTimeout(resolve, ms)
  })
}

/** A short, single-line, printable excerpt of an API's error text (never the request). */
export function excerpt(text: string, max = 200): string {
  const line = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim()
  return line.length > max ? `${line.slice(0, max)}…` : line
}

import {randomUUID} from 'node:crypto'
import {
  Agent as HttpAgent,
  type ClientRequest,
  createServer,
  type IncomingMessage,
  request as httpRequest,
  type Server,
  type ServerResponse,
} from 'node:http'
import {Agent as HttpsAgent, request as httpsRequest} from 'node:https'
import type {AddressInfo, Socket} from 'node:net'
import {performance} from 'node:perf_hooks'

import {AuditError} from '../errors.js'
import type {WriteInput} from '../events/write-input.js'
import {TrustedProxies} from './client-ip.js'
import {EventBuffer, type Reservation} from './event-buffer.js'
import type {EventSink} from './event-sink.js'
import {acceptedRequestId, endToEnd, headerText, sendError} from './http-util.js'
import {inspectRequest, ModelAllowList, ResponseTail} from './inspect.js'
import {RateLimiter, type RateSpec} from './rate-limit.js'
import {TokenStore} from './tokens.js'

export interface ProxyOptions {
  host: string
  port: number
  upstream: URL
  /** --tokens: the file of named bearer tokens (reloaded by reloadTokens()). */
  tokensFile?: string
  rateLimit?: RateSpec
  allowModels: string[]
  trustProxy: string[]
  logPrompts: boolean
  maxBodyBytes: number
  /** Longest wait for the upstream's next byte. */
  timeoutMs: number
  /** On stop(), how long in-flight requests may take. */
  graceMs: number
  /** Events that may wait for the disk (EventBuffer). */
  eventBuffer: number
  /** A line for stderr (warnings the operator should see even when the log cannot be written). */
  warn: (line: string) => void
}

/** Slots one request may use: an auth event, api.request and api.response (or api.error). */
const SLOTS_PER_REQUEST = 3
const MAX_PATH = 2048
const MAX_USER_AGENT = 512

/** Request headers the proxy sets itself; the body is read whole already, so no Expect: 100-continue dance with Ollama. */
const NOT_FORWARDED: ReadonlySet<string> = new Set(['host', 'content-length', 'expect', 'x-request-id'])
/** With --tokens, the client's bearer token is the proxy's, not Ollama's. */
const NOT_FORWARDED_WITH_TOKENS: ReadonlySet<string> = new Set([...NOT_FORWARDED, 'authorization'])

type ErrorKind = 'upstream_unreachable' | 'upstream_reset' | 'client_gone' | 'timeout' | 'shutdown'

/** One request in flight: what its events share, and how to cut it short at shutdown. */
interface Exchange {
  abort: (kind: ErrorKind) => void
  done: Promise<void>
}

class UpstreamTimeout extends Error {}

/**
 * The audit proxy: a reverse proxy for the Ollama HTTP API that records every request
 * (api.request, then api.response or api.error) through an EventSink (an AuditWriter), behind optional bearer
 * tokens, a per-client rate limit and a model allow-list.
 */
export class AuditProxy {
  private readonly server: Server
  private readonly events: EventBuffer
  private readonly trusted: TrustedProxies
  private readonly allowList: ModelAllowList
  private readonly limiter: RateLimiter | undefined
  private readonly agent: HttpAgent
  private readonly request: typeof httpRequest
  private readonly basePath: string
  private tokens: TokenStore | undefined
  private readonly inFlight = new Set<Exchange>()
  private stopping = false
  private backpressureTimer: NodeJS.Timeout | undefined
  private counts = {requests: 0, refused_busy: 0}

  private constructor(
    sink: EventSink,
    private readonly options: ProxyOptions,
  ) {
    this.trusted = new TrustedProxies(options.trustProxy)
    this.allowList = new ModelAllowList(options.allowModels)
    this.limiter = options.rateLimit ? new RateLimiter(options.rateLimit) : undefined
    this.tokens = options.tokensFile ? TokenStore.load(options.tokensFile) : undefined
    const https = options.upstream.protocol === 'https:'
    this.agent = new (https ? HttpsAgent : HttpAgent)({keepAlive: true, maxFreeSockets: 256})
    this.request = https ? httpsRequest : httpRequest
    this.basePath = options.upstream.pathname.replace(/\/+$/, '')
    this.events = new EventBuffer(sink, options.eventBuffer, (message, input) => {
      const requestId = input.details?.request_id
      options.warn(
        `audit proxy: warning: ${input.event} not written${typeof requestId === 'string' ? ` (request ${requestId})` : ''}: ${message}`,
      )
    })
    this.server = createServer({keepAlive: true}, (req, res) => this.handle(req, res))
    // Slow or idle clients: node's defaults (requestTimeout 300 s, headersTimeout 60 s) apply.
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
      if (socket.writable && error.code !== 'ECONNRESET') socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')
      else socket.destroy()
    })
  }

  /** Checks the options (tokens file, addresses), starts listening and records proxy.start. */
  static async start(sink: EventSink, options: ProxyOptions): Promise<AuditProxy> {
    const proxy = new AuditProxy(sink, options)
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', (error: NodeJS.ErrnoException) => {
        const why =
          error.code === 'EADDRINUSE'
            ? 'address already in use'
            : error.code === 'EACCES'
              ? 'permission denied'
              : error.code === 'EADDRNOTAVAIL'
                ? 'no such local address'
                : error.message
        reject(new AuditError(`--listen ${options.host}:${options.port}: ${why}`))
      })
      proxy.server.listen(options.port, options.host, () => {
        proxy.server.removeAllListeners('error')
        resolve()
      })
    })
    proxy.server.on('error', (error) => proxy.ownEvent('proxy.error', 'error', {message: error.message}))
    proxy.ownEvent('proxy.start', 'info', {
      listen: proxy.address,
      upstream: options.upstream.href,
      pid: process.pid,
      tokens: proxy.tokens?.size ?? 0,
      rate_limit: options.rateLimit?.text ?? null,
      allow_models: options.allowModels,
      trust_proxy: options.trustProxy,
      log_prompts: options.logPrompts,
      max_body_bytes: options.maxBodyBytes,
      event_buffer: options.eventBuffer,
    })
    return proxy
  }

  get address(): string {
    const a = this.server.address() as AddressInfo
    return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`
  }

  /** SIGHUP: reads the token file again; a bad file keeps the tokens in force and records why. */
  reloadTokens(): void {
    if (!this.options.tokensFile) return
    try {
      this.tokens = TokenStore.load(this.options.tokensFile)
      this.ownEvent('proxy.tokens.reload', 'info', {tokens: this.tokens.size})
    } catch (error) {
      this.options.warn(`audit proxy: warning: tokens not reloaded, the previous ones stay in force: ${(error as Error).message}`)
      this.ownEvent('proxy.error', 'error', {message: `tokens not reloaded: ${(error as Error).message}`})
    }
  }

  /**
   * Stops accepting, lets in-flight requests finish for graceMs (then cuts them, recording
   * api.error "shutdown"), records proxy.stop and waits until every event is written.
   */
  async stop(reason: string): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    this.server.closeIdleConnections()
    const inFlight = this.inFlight.size
    let cut = 0
    const grace = new Promise<'timeout'>((resolve) => setTimeout(resolve, this.options.graceMs, 'timeout').unref())
    if ((await Promise.race([Promise.all([...this.inFlight].map((e) => e.done)), grace])) === 'timeout') {
      cut = this.inFlight.size
      for (const exchange of this.inFlight) exchange.abort('shutdown')
      await Promise.all([...this.inFlight].map((e) => e.done))
    }
    this.server.closeAllConnections()
    await closed
    clearInterval(this.backpressureTimer)
    this.agent.destroy()
    const refused = this.events.takeRefused()
    this.ownEvent('proxy.stop', 'info', {
      reason,
      requests: this.counts.requests,
      in_flight: inFlight,
      cut_short: cut,
      refused_busy: this.counts.refused_busy,
      ...(refused > 0 ? {refused_busy_unrecorded: refused} : {}),
      events_failed: this.events.failures,
    })
    await this.events.flush()
  }

  /** The proxy's own events (start, stop, errors): never refused, but counted against the buffer. */
  private ownEvent(event: string, level: string, details: Record<string, unknown>): void {
    this.events.write({event, level, details})
  }

  /** Recorded once there is room again: how many requests were refused because the buffer was full. */
  private noteRefusal(): void {
    this.counts.refused_busy++
    if (this.backpressureTimer) return
    this.backpressureTimer = setInterval(() => {
      if (this.events.pending > this.events.capacity / 2) return
      clearInterval(this.backpressureTimer)
      this.backpressureTimer = undefined
      const refused = this.events.takeRefused()
      if (refused > 0)
        this.ownEvent('proxy.backpressure', 'warning', {
          refused,
          capacity: this.events.capacity,
          message: 'requests answered 503: events were waiting for the disk',
        })
    }, 250)
    this.backpressureTimer.unref()
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now()
    this.counts.requests++
    const requestId = acceptedRequestId(req.headers['x-request-id']) ?? randomUUID()
    res.setHeader('X-Request-ID', requestId)
    if (this.stopping) {
      sendError(res, 503, 'audit proxy is shutting down', {Connection: 'close'})
      return
    }
    const reservation = this.events.reserve(SLOTS_PER_REQUEST)
    if (!reservation) {
      this.noteRefusal()
      sendError(res, 503, 'audit proxy busy: the audit log is behind, try again', {'Retry-After': '1'})
      return
    }
    const ip = this.trusted.clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'])
    // What every event of the request repeats, so each can be found alone; the user agent is in the first.
    const base = {request_id: requestId, method: req.method ?? '', path: (req.url ?? '').slice(0, MAX_PATH), ip}
    const userAgent = req.headers['user-agent'] === undefined ? {} : {user_agent: headerText(req.headers['user-agent'], MAX_USER_AGENT)}
    let actor = ip
    const refuse = (
      event: string,
      status: number,
      message: string,
      details: Record<string, unknown>,
      headers: Record<string, string> = {},
    ) => {
      reservation.write({event, level: 'warning', actor, details: {...base, ...userAgent, status, ...details}})
      reservation.release()
      sendError(res, status, message, headers)
    }

    if (this.tokens) {
      const checked = this.tokens.check(headerText(req.headers.authorization, 8192))
      if ('failure' in checked) {
        drainRequest(req)
        refuse(
          'auth.fail',
          401,
          'unauthorized: a valid bearer token is required',
          {reason: checked.failure},
          {'WWW-Authenticate': 'Bearer realm="audit proxy"'},
        )
        return
      }
      actor = checked.name
      reservation.write({event: 'auth.token.use', actor, details: {...base, ...userAgent, token: checked.name}})
    }
    if (this.limiter) {
      const waitMs = this.limiter.take(actor)
      if (waitMs > 0) {
        drainRequest(req)
        refuse(
          'api.rate_limit.exceeded',
          429,
          `rate limit ${this.options.rateLimit!.text} exceeded`,
          {rate_limit: this.options.rateLimit!.text, retry_after_s: Math.ceil(waitMs / 1000)},
          {'Retry-After': String(Math.ceil(waitMs / 1000))},
        )
        return
      }
    }

    readBody(req, this.options.maxBodyBytes).then(
      (body) => {
        if (body === 'too_large') {
          drainRequest(req)
          refuse('api.body.too_large', 413, `request body over the proxy's limit of ${this.options.maxBodyBytes} bytes`, {
            limit_bytes: this.options.maxBodyBytes,
          })
          return
        }
        if (body === 'aborted') {
          reservation.write({
            event: 'api.error',
            level: 'warning',
            actor,
            details: {
              ...base,
              kind: 'client_gone',
              message: 'client closed the connection while sending the request',
              duration_ms: ms(started),
            },
          })
          reservation.release()
          return
        }
        const facts = inspectRequest(body, this.options.logPrompts)
        if (facts.model !== undefined && !this.allowList.empty && !this.allowList.allows(facts.model)) {
          refuse('api.model.denied', 403, `model '${facts.model}' is not allowed through this proxy`, {model: facts.model})
          return
        }
        const {stream, ...recorded} = facts
        reservation.write({
          event: 'api.request',
          actor,
          details: {...base, ...userAgent, ...recorded, ...(stream === undefined ? {} : {stream})},
        })
        this.forward(req, res, body, {actor, base, started, reservation, model: facts.model})
      },
      (error: Error) => {
        reservation.release()
        sendError(res, 500, `audit proxy: ${error.message}`)
      },
    )
  }

  private forward(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    context: {actor: string; base: {request_id: string; ip: string}; started: number; reservation: Reservation; model?: string},
  ): void {
    const {actor, base, started, reservation} = context
    const upstream = this.options.upstream
    const headers = endToEnd(req.headers, this.tokens ? NOT_FORWARDED_WITH_TOKENS : NOT_FORWARDED)
    headers.host = upstream.host
    headers['x-request-id'] = base.request_id
    headers['x-forwarded-for'] =
      req.headers['x-forwarded-for'] && !this.trusted.empty
        ? `${headerText(req.headers['x-forwarded-for'], 2048)}, ${req.socket.remoteAddress ?? ''}`
        : (req.socket.remoteAddress ?? '')
    if (body.length > 0 || !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(req.method ?? '')) headers['content-length'] = body.length

    let settled = false
    let firstByteAt: number | undefined
    let bytes = 0
    let status: number | undefined
    const tail = new ResponseTail()
    let resolveDone!: () => void
    const done = new Promise<void>((resolve) => {
      resolveDone = resolve
    })
    const exchange: Exchange = {abort: (kind) => fail(kind, kind === 'shutdown' ? 'cut short at shutdown' : kind), done}
    this.inFlight.add(exchange)

    const settle = (input: WriteInput) => {
      if (settled) return
      settled = true
      reservation.write(input)
      reservation.release()
      this.inFlight.delete(exchange)
      resolveDone()
    }
    const timing = () => ({duration_ms: ms(started), ...(firstByteAt === undefined ? {} : {ttfb_ms: round(firstByteAt - started)}), bytes})
    const fail = (kind: ErrorKind, message: string) => {
      if (settled) return
      // What the client got: an error status when nothing was sent yet, else a cut answer.
      const answered = res.headersSent
        ? null
        : kind === 'upstream_unreachable'
          ? 502
          : kind === 'timeout'
            ? 504
            : kind === 'shutdown'
              ? 503
              : null
      settle({
        event: 'api.error',
        level: kind === 'client_gone' ? 'warning' : 'error',
        actor,
        details: {
          ...base,
          ...(context.model === undefined ? {} : {model: context.model}),
          kind,
          message,
          status: answered,
          ...(status === undefined ? {} : {upstream_status: status}),
          ...timing(),
        },
      })
      upstreamReq.destroy()
      if (answered === 502) sendError(res, 502, `audit proxy: upstream ${upstream.host} unreachable: ${message}`)
      else if (answered === 504)
        sendError(res, 504, `audit proxy: upstream ${upstream.host} sent nothing for ${this.options.timeoutMs / 1000} s`)
      else if (answered === 503) sendError(res, 503, 'audit proxy is shutting down', {Connection: 'close'})
      else res.destroy()
    }

    let upstreamReq: ClientRequest
    const send = (retry: boolean) => {
      upstreamReq = this.request({
        protocol: upstream.protocol,
        hostname: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: this.basePath + (req.url ?? '/'),
        headers,
        agent: retry ? this.agent : false,
      })
      upstreamReq.setTimeout(this.options.timeoutMs, () => upstreamReq.destroy(new UpstreamTimeout('no byte from upstream in time')))
      upstreamReq.on('error', (error: NodeJS.ErrnoException) => {
        if (settled) return
        // A kept-alive connection Ollama closed as we reused it: the request never got there; once more on a new one.
        if (retry && status === undefined && upstreamReq.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE'))
          send(false)
        else if (error instanceof UpstreamTimeout) fail('timeout', error.message)
        else if (status === undefined) fail('upstream_unreachable', error.code ?? error.message)
        else fail('upstream_reset', error.code ?? error.message)
      })
      upstreamReq.on('response', onResponse)
      upstreamReq.end(body)
    }
    res.on('close', () => {
      if (!res.writableFinished) fail('client_gone', 'client closed the connection before the answer ended')
    })
    const onResponse = (upRes: IncomingMessage) => {
      status = upRes.statusCode ?? 502
      const responseHeaders = endToEnd(upRes.headers)
      if (this.stopping) responseHeaders.connection = 'close'
      res.writeHead(status, upRes.statusMessage, responseHeaders)
      upRes.on('data', (chunk: Buffer) => {
        firstByteAt ??= performance.now()
        bytes += chunk.length
        tail.push(chunk)
        // Passed on as it comes; a slow client pauses the upstream instead of filling memory.
        if (!res.write(chunk)) {
          upRes.pause()
          res.once('drain', () => upRes.resume())
        }
      })
      upRes.on('error', () => undefined)
      upRes.on('close', () => {
        if (!upRes.complete) fail('upstream_reset', 'upstream closed the connection mid-answer')
      })
      upRes.on('end', () => {
        if (settled || !upRes.complete) return
        res.end(() => {
          const facts = tail.facts()
          const level = status! >= 500 ? 'error' : status! >= 400 || facts.upstream_error !== undefined ? 'warning' : 'info'
          settle({
            event: 'api.response',
            level,
            actor,
            details: {...base, ...(context.model === undefined ? {} : {model: context.model}), status, ...timing(), ...facts},
          })
        })
      })
    }
    send(true)
  }
}

/** Reads a request body up to `limit` bytes: the bytes, 'too_large' (and stops reading) or 'aborted'. */
/** How long a refused request's body is still read after the answer, as nginx's lingering close does. */
const LINGER_MS = 5000

/**
 * Reads and drops the rest of a refused request's body, so a client still sending reads the answer
 * rather than a reset (closing a socket with unread data sends RST, and the client's next write
 * fails with EPIPE before it has looked at the response). A client still sending after LINGER_MS
 * is cut off: refusing must not cost the proxy an open connection for as long as a client likes.
 */
function drainRequest(req: IncomingMessage): void {
  req.resume()
  if (req.complete) return
  const timer = setTimeout(() => req.socket.destroy(), LINGER_MS).unref()
  const stop = () => clearTimeout(timer)
  req.once('end', stop)
  req.once('close', stop)
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too_large' | 'aborted'> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.resolve('too_large')
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    let over = false
    req.on('data', (chunk: Buffer) => {
      if (over) return
      size += chunk.length
      if (size > limit) {
        over = true
        chunks.length = 0
        resolve('too_large')
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(over ? 'too_large' : Buffer.concat(chunks, size)))
    req.on('close', () => {
      if (!req.complete) resolve('aborted')
    })
    req.on('error', () => resolve('aborted'))
  })
}

const round = (value: number) => Math.round(value * 1000) / 1000
const ms = (since: number) => round(performance.now() - since)

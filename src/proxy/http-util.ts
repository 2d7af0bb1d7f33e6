import type {IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse} from 'node:http'

/** Headers of one connection, not of the message: never passed on by a proxy (RFC 9110 7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
])

const NONE: ReadonlySet<string> = new Set()

/** The header names a Connection header lists (its usual "keep-alive" or "close" needs no set). */
function connectionOptions(connection: string | undefined): ReadonlySet<string> {
  if (connection === undefined) return NONE
  const lower = connection.toLowerCase()
  if (lower === 'keep-alive' || lower === 'close') return new Set([lower])
  return new Set(
    lower
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean),
  )
}

/** A header set without the hop-by-hop headers, nor those the Connection header names, nor `drop`. */
export function endToEnd(headers: IncomingHttpHeaders, drop: ReadonlySet<string> = NONE): OutgoingHttpHeaders {
  const named = connectionOptions(headers.connection)
  const out: OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name) || drop.has(name)) continue
    out[name] = value
  }
  return out
}

/** A request id worth keeping: what a client sends is passed on and logged, so it is kept short and plain. */
const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/

export function acceptedRequestId(header: string | string[] | undefined): string | undefined {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : undefined
}

/** A header value as recorded: one string, at most `max` characters. */
export function headerText(value: string | string[] | undefined, max: number): string | undefined {
  if (value === undefined) return undefined
  const text = Array.isArray(value) ? value.join(', ') : value
  return text.length > max ? text.slice(0, max) : text
}

/** An error answer as Ollama gives them: a JSON object with an `error` member (ollama-js shows it). */
export function sendError(res: ServerResponse, status: number, message: string, headers: OutgoingHttpHeaders = {}): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = `${JSON.stringify({error: message})}\n`
  res.writeHead(status, {...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body)})
  res.end(body)
}

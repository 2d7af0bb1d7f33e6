import {isIP} from 'node:net'

import type {Config} from '../config/schema.js'
import {AuditError} from '../errors.js'
import {TrustedProxies} from './client-ip.js'
import {parseRate} from './rate-limit.js'
import type {ProxyOptions} from './server.js'

/** "127.0.0.1:11435", "[::1]:11435" or "localhost:11435" (port 0: any free port). */
export function parseListen(text: string, source = '--listen'): {host: string; port: number} {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text.trim())
  const port = Number(match?.[3])
  if (!match || port > 65_535) throw new AuditError(`${source} "${text}": expected HOST:PORT, e.g. 127.0.0.1:11435 or [::1]:11435`)
  const host = match[1] ?? match[2]
  if (match[1] !== undefined && isIP(host) !== 6) throw new AuditError(`${source} "${text}": "${host}" is not an IPv6 address`)
  return {host, port}
}

/** The Ollama base URL: http(s)://host[:port][/prefix], like OLLAMA_HOST (a bare host:port means http). */
export function parseUpstream(text: string, source = '--upstream'): URL {
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text)
  let url: URL
  try {
    url = new URL(hasScheme ? text : `http://${text}`)
  } catch {
    throw new AuditError(`${source} "${text}": not a URL (expected e.g. http://127.0.0.1:11434)`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new AuditError(`${source} "${text}": expected an http:// or https:// URL`)
  if (url.username || url.password || url.search || url.hash)
    throw new AuditError(`${source}: expected scheme://host[:port][/path], without credentials, query or fragment`)
  // A bare host means Ollama's own port, as OLLAMA_HOST does.
  if (!hasScheme && url.port === '') url.port = '11434'
  return url
}

/** Splits repeatable, comma-separated flag values ("a,b" "c" → a, b, c). */
export function listValues(values: string[]): string[] {
  return values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '')
}

/** The proxy's options from its configuration section (flags already merged in), checked. */
export function proxyOptions(proxy: Config['proxy'], ollamaHost: string, warn: (line: string) => void): ProxyOptions {
  const {host, port} = parseListen(proxy.listen)
  const upstream = parseUpstream(proxy.upstream === '' ? ollamaHost : proxy.upstream, proxy.upstream === '' ? 'ollama.host' : '--upstream')
  // Checked here, so a bad value fails before anything listens.
  new TrustedProxies(proxy.trust_proxy)
  return {
    host,
    port,
    upstream,
    tokensFile: proxy.tokens === '' ? undefined : proxy.tokens,
    rateLimit: proxy.rate_limit === '' ? undefined : parseRate(proxy.rate_limit),
    allowModels: proxy.allow_models,
    trustProxy: proxy.trust_proxy,
    logPrompts: proxy.log_prompts,
    maxBodyBytes: Math.floor(proxy.max_body_mb * 1024 * 1024),
    timeoutMs: proxy.timeout_s * 1000,
    graceMs: proxy.shutdown_grace_s * 1000,
    eventBuffer: proxy.event_buffer,
    warn,
  }
}

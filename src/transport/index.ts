import {readFileSync} from 'node:fs'

import {AuditError} from '../errors.js'
import {describeFsError} from '../store/files.js'
import {type HttpDestinationOptions, openHttpSink, parseHttpUrl} from './http/index.js'
import type {Sink} from './sink.js'
import {SyslogClientSink} from './syslog-client-sink.js'
import {SyslogStreamSink} from './syslog-stream.js'
import {SyslogUdpSink} from './syslog-udp.js'

export type {Sink} from './sink.js'
export {FileSink} from './file.js'
export {StreamSink} from './stream.js'
export {SyslogClientSink} from './syslog-client-sink.js'
export {SyslogStreamSink} from './syslog-stream.js'
export {SyslogUdpSink} from './syslog-udp.js'

export interface OpenSinkOptions {
  /** The codec the records come from; `syslog` records (`<PRI>body`) go through syslog-client. */
  format?: string
  /** TLS: files holding the CA certificate(s) to trust (default: the system's), and a client certificate and key. */
  ca?: string
  cert?: string
  key?: string
  /** Where the options came from, for messages (`--forward`, `config syslog.url`). */
  origin?: string
  /** A full queue makes writes wait (default) or drops the oldest record (never blocks the caller). */
  overflow?: 'wait' | 'drop'
  queueLimit?: number
  /** The first connection failing is an error (default), or is retried like any later one. */
  failFast?: boolean
  /** Sockets and timers do not keep the process alive. */
  unref?: boolean
  closeTimeoutMs?: number
  onWarning?: (message: string) => void
  /** http(s):// ingestion APIs (Elasticsearch _bulk, Splunk HEC, Loki push): batching, retries, credentials. */
  http?: HttpDestinationOptions
}

const DEFAULT_PORTS: Record<string, number> = {udp: 514, tcp: 514, tls: 6514}

/** The destination URL's parts, or a usage error naming it. */
export function parseDestination(
  text: string,
  origin = 'destination',
): {scheme: string; host: string; port: number; params: URLSearchParams} {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new AuditError(`${origin} "${text}": not a URL (expected udp://HOST[:PORT], tcp://HOST[:PORT] or tls://HOST[:PORT])`)
  }
  const scheme = url.protocol.replace(/:$/, '')
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  if (host === '') throw new AuditError(`${origin} "${text}": no host`)
  if (url.username || url.password) throw new AuditError(`${origin}: credentials in a syslog URL are not supported`)
  if (url.pathname !== '' && url.pathname !== '/') throw new AuditError(`${origin} "${text}": a syslog URL has no path`)
  const port = url.port === '' ? (DEFAULT_PORTS[scheme] ?? 0) : Number(url.port)
  return {scheme, host, port, params: url.searchParams}
}

function readPem(path: string | undefined, flag: string): Buffer | undefined {
  if (path === undefined) return undefined
  try {
    return readFileSync(path)
  } catch (error) {
    throw new AuditError(`${flag} ${path}: ${describeFsError(error)}`)
  }
}

/** The PEM files of --ca, --cert and --key, read; those not given are left out (Node's defaults apply). */
export function readTlsFiles(files: {ca?: string; cert?: string; key?: string}): {ca?: Buffer; cert?: Buffer; key?: Buffer} {
  const tls = {ca: readPem(files.ca, '--ca'), cert: readPem(files.cert, '--cert'), key: readPem(files.key, '--key')}
  return Object.fromEntries(Object.entries(tls).filter(([, v]) => v !== undefined))
}

type Opener = (destination: ReturnType<typeof parseDestination>, options: OpenSinkOptions) => Promise<Sink>

function framingParam(params: URLSearchParams, origin: string): 'newline' | 'octet-counting' | undefined {
  const framing = params.get('framing') ?? undefined
  if (framing !== undefined && framing !== 'newline' && framing !== 'octet-counting')
    throw new AuditError(`${origin}: framing "${framing}": expected newline or octet-counting`)
  return framing
}

function viaSyslogClient(options: OpenSinkOptions): boolean {
  return options.format === 'syslog'
}

/** One opener per URL scheme; another destination (http, https) is one more entry. */
const OPENERS: Record<string, Opener> = {
  async udp({host, port}, options) {
    if (viaSyslogClient(options)) return new SyslogClientSink({host, port, protocol: 'udp', ...options})
    return SyslogUdpSink.open(`udp://${host}:${port}`, host, port, {unref: options.unref})
  },
  async tcp({host, port, params}, options) {
    const framing = framingParam(params, options.origin ?? 'destination')
    if (viaSyslogClient(options)) {
      if (framing === 'octet-counting')
        throw new AuditError(
          `${options.origin ?? 'destination'}: the syslog format goes through syslog-client, which frames with LF only; use rfc5424 for octet counting`,
        )
      return new SyslogClientSink({host, port, protocol: 'tcp', ...options})
    }
    return SyslogStreamSink.open({host, port, framing, ...options})
  },
  async tls({host, port}, options) {
    if (viaSyslogClient(options))
      throw new AuditError(
        `${options.origin ?? 'destination'}: the syslog format goes through syslog-client, which has no TLS; forward rfc5424 or rfc3164 over tls://`,
      )
    return SyslogStreamSink.open({host, port, tls: readTlsFiles(options), ...options})
  },
}

/** The URL schemes openSink knows. */
export const SINK_SCHEMES = Object.keys(OPENERS)

/**
 * Opens the sink a URL names: `udp://host[:514]`, `tcp://host[:514][?framing=octet-counting]`,
 * `tls://host[:6514]`. An unreachable destination rejects with an OutsideError (exit 3) naming it,
 * unless `failFast` is false.
 */
export async function openSink(url: string, options: OpenSinkOptions = {}): Promise<Sink> {
  if (/^https?:\/\//i.test(url)) return openHttpSink(parseHttpUrl(url), options.http ?? {})
  const origin = options.origin ?? 'destination'
  const destination = parseDestination(url, origin)
  const opener = OPENERS[destination.scheme]
  if (!opener)
    throw new AuditError(
      `${origin} "${url}": unsupported scheme "${destination.scheme}:"; expected ${SINK_SCHEMES.map((s) => `${s}://`).join(', ')}`,
    )
  if (!(destination.port >= 1 && destination.port <= 65_535)) throw new AuditError(`${origin} "${url}": port out of range`)
  if (destination.scheme !== 'tls' && (options.ca || options.cert || options.key))
    throw new AuditError(`${origin}: --ca, --cert and --key apply to tls:// only`)
  return opener(destination, options)
}

import {AuditError} from '../errors.js'
import {httpApi, parseHttpUrl} from '../transport/http/index.js'
import {openSink, readTlsFiles} from '../transport/index.js'
import type {Sink} from '../transport/sink.js'

export interface DestinationOptions {
  format: string
  ca?: string
  cert?: string
  key?: string
  hecToken?: string
  esApiKey?: string
  lokiTenant?: string
  batchCount?: number
  batchBytes?: number
  retries?: number
}

/**
 * The format an export to `to` is written in: an HTTP API takes only its own (ecs-bulk, splunk-hec,
 * loki); anything else takes the one asked for, jsonl by default.
 */
export function destinationFormat(to: string | undefined, asked: string | undefined): string {
  if (to && /^https?:\/\//i.test(to)) {
    const api = httpApi(parseHttpUrl(to))
    if (api && asked && asked !== api.codec)
      throw new AuditError(`--format ${asked}: ${api.api} takes ${api.codec} records (leave --format out)`)
    if (api) return api.codec
  }
  return asked ?? 'jsonl'
}

/** True when --to names a syslog server (udp, tcp, tls): each entry goes as its own syslog message. */
export function isSyslogDestination(to: string | undefined): boolean {
  return to !== undefined && !/^https?:\/\//i.test(to)
}

/** The sink for --to: syslog (udp, tcp, tls) and the HTTP ingestion APIs, all through the transport's openSink. */
export async function openDestination(url: string, options: DestinationOptions): Promise<Sink> {
  if (/^https?:\/\//i.test(url)) {
    return openSink(url, {
      origin: '--to',
      http: {
        hecToken: options.hecToken,
        esApiKey: options.esApiKey,
        lokiTenant: options.lokiTenant,
        batchCount: options.batchCount,
        batchBytes: options.batchBytes,
        retries: options.retries,
        tls: readTlsFiles(options),
      },
    })
  }
  return openSink(url, {format: options.format, ca: options.ca, cert: options.cert, key: options.key, origin: '--to'})
}

import {AuditError} from '../errors.js'
import {openSink} from '../transport/index.js'
import type {Sink} from '../transport/sink.js'

export interface DestinationOptions {
  format: string
  ca?: string
  cert?: string
  key?: string
  hecToken?: string
  formatOptions?: Record<string, string>
}

/** The sink for --to: syslog URLs through the transport's openSink; http(s) ingestion APIs by their path. */
export async function openDestination(url: string, options: DestinationOptions): Promise<Sink> {
  if (/^https?:/i.test(url)) throw new AuditError(`--to: HTTP shipping is not available yet`)
  return openSink(url, {format: options.format, ca: options.ca, cert: options.cert, key: options.key, origin: '--to'})
}

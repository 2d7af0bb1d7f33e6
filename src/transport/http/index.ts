import {AuditError} from '../../errors.js'
import type {Sink} from '../sink.js'
import type {HttpSinkOptions} from './batching.js'
import {ElasticsearchSink} from './elasticsearch.js'
import {LokiSink} from './loki.js'
import {SplunkHecSink} from './splunk.js'

export interface HttpDestinationOptions extends HttpSinkOptions {
  /** Splunk HEC token (from the environment or config; never printed). */
  hecToken?: string
  /** Elasticsearch API key. */
  esApiKey?: string
  lokiTenant?: string
}

/** The ingestion API an http(s) URL names by its path, and the codec its records must come from. */
export function httpApi(url: URL): {api: 'elasticsearch' | 'splunk' | 'loki'; codec: string} | undefined {
  if (/\/_bulk$/.test(url.pathname)) return {api: 'elasticsearch', codec: 'ecs-bulk'}
  if (/\/services\/collector(\/event)?$/.test(url.pathname)) return {api: 'splunk', codec: 'splunk-hec'}
  if (/\/loki\/api\/v1\/push$/.test(url.pathname)) return {api: 'loki', codec: 'loki'}
  return undefined
}

export function parseHttpUrl(text: string): URL {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new AuditError('--to: not a URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AuditError(`--to: ${url.protocol} is not http: or https:`)
  return url
}

export function openHttpSink(url: URL, options: HttpDestinationOptions): Sink {
  const api = httpApi(url)
  switch (api?.api) {
    case 'elasticsearch': {
      return new ElasticsearchSink(url, {...options, apiKey: options.esApiKey})
    }
    case 'splunk': {
      if (!options.hecToken) throw new AuditError('--to: Splunk HEC needs a token in $AUDIT_HEC_TOKEN or config export.hec_token')
      return new SplunkHecSink(url, options.hecToken, options)
    }
    case 'loki': {
      return new LokiSink(url, {...options, tenant: options.lokiTenant})
    }
    default: {
      throw new AuditError(
        `--to ${url.protocol}//${url.host}${url.pathname}: expected an Elasticsearch …/_bulk, a Splunk …/services/collector/event or a Loki …/loki/api/v1/push URL`,
      )
    }
  }
}

import {AuditError} from '../../errors.js'
import {basicAuth} from './auth.js'
import {
  BatchingHttpSink,
  excerpt,
  type HttpResponse,
  type HttpSinkOptions,
  type Records,
  recordTexts,
  statusVerdict,
  type Verdict,
} from './batching.js'

interface PushBody {
  streams: Array<{stream: Record<string, string>; values: Array<[string, string]>}>
}

/**
 * Grafana Loki push API (siem-formats.md §9): the `loki` codec's one-entry push bodies are merged
 * into one body a batch, a stream per label set, values in the order written (chain order).
 * Success is 204; 429 and 5xx are retried; 400 (out of order, too long, …) is final.
 */
export class LokiSink extends BatchingHttpSink {
  private readonly authorization?: string

  constructor(url: URL, options: HttpSinkOptions & {tenant?: string} = {}) {
    // Loki refuses a stream's entries that arrive older than its newest: one request at a time.
    super(url, {...options, inFlight: 1})
    if (!/\/loki\/api\/v1\/push$/.test(url.pathname)) throw new AuditError(`--to ${this.name}: a Loki URL ends in /loki/api/v1/push`)
    this.authorization = basicAuth(url)
    this.tenant = options.tenant
  }

  private readonly tenant?: string

  protected headers(): Record<string, string> {
    return {
      'content-type': 'application/json',
      ...(this.authorization ? {authorization: this.authorization} : {}),
      ...(this.tenant ? {'x-scope-orgid': this.tenant} : {}),
    }
  }

  protected override body(records: Records): string {
    const streams = new Map<string, PushBody['streams'][number]>()
    for (const record of recordTexts(records)) {
      for (const {stream, values} of (JSON.parse(record) as PushBody).streams) {
        const key = JSON.stringify(stream)
        const found = streams.get(key)
        if (found) found.values.push(...values)
        else streams.set(key, {stream, values: [...values]})
      }
    }
    return JSON.stringify({streams: [...streams.values()]})
  }

  protected judge(response: HttpResponse): Verdict {
    if (response.status === 204 || response.status === 200) return {kind: 'delivered'}
    return statusVerdict(response, excerpt(response.body))
  }
}

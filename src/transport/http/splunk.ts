import {randomUUID} from 'node:crypto'

import {AuditError} from '../../errors.js'
import {BatchingHttpSink, excerpt, type HttpResponse, type HttpSinkOptions, retryAfterMs, statusVerdict, type Verdict} from './batching.js'

/**
 * Splunk HTTP Event Collector (siem-formats.md §9): `Authorization: Splunk <token>`, events
 * concatenated. Success is `{"text":"Success","code":0}`; with indexer acknowledgement the answer
 * carries an `ackId`, and the batch counts as delivered only once /services/collector/ack says so.
 * 400/401/403 are final; 503 (server busy) and other 5xx are retried.
 */
export class SplunkHecSink extends BatchingHttpSink {
  private readonly channel = randomUUID()

  constructor(
    url: URL,
    private readonly token: string,
    options: HttpSinkOptions & {ackTimeoutMs?: number} = {},
  ) {
    // One request at a time: events reach the index in log order (only _bulk, ids from the chain, is pipelined).
    super(url, {...options, inFlight: 1})
    if (!/\/services\/collector(\/event)?$/.test(url.pathname))
      throw new AuditError(`--to ${this.name}: a Splunk HEC URL ends in /services/collector/event`)
    this.ackTimeoutMs = options.ackTimeoutMs ?? 120_000
  }

  private readonly ackTimeoutMs: number

  protected headers(): Record<string, string> {
    return {'content-type': 'application/json', authorization: `Splunk ${this.token}`, 'x-splunk-request-channel': this.channel}
  }

  protected async judge(response: HttpResponse): Promise<Verdict> {
    let answer: {text?: string; code?: number; ackId?: number} = {}
    try {
      answer = JSON.parse(response.body)
    } catch {
      // A proxy's page: the status says enough.
    }
    const what = answer.text === undefined ? excerpt(response.body) : `${answer.text}, code ${answer.code}`
    if (response.status !== 200 || answer.code !== 0) return statusVerdict(response, what)
    if (answer.ackId === undefined) return {kind: 'delivered'}
    return this.awaitAck(answer.ackId)
  }

  /** Polls the ack endpoint until the batch is indexed; not indexed in time means send it again. */
  private async awaitAck(ackId: number): Promise<Verdict> {
    const ackUrl = new URL(this.url)
    ackUrl.pathname = ackUrl.pathname.replace(/\/services\/collector(\/event)?$/, '/services/collector/ack')
    const deadline = Date.now() + this.ackTimeoutMs
    for (let wait = 100; Date.now() < deadline; wait = Math.min(wait * 2, 5000)) {
      const response = await this.post(ackUrl, JSON.stringify({acks: [ackId]}))
      if (response.status !== 200) return statusVerdict(response, `ack: ${excerpt(response.body)}`)
      const acks = (JSON.parse(response.body) as {acks?: Record<string, boolean>}).acks ?? {}
      if (acks[String(ackId)] === true) return {kind: 'delivered'}
      await new Promise((resolve) => {
        setTimeout(resolve, retryAfterMs(response.headers['retry-after']) ?? wait)
      })
    }
    return {kind: 'retry', reason: `ack ${ackId} not confirmed within ${this.ackTimeoutMs} ms`}
  }
}

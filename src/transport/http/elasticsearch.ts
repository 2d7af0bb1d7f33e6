import {AuditError} from '../../errors.js'
import {BatchingHttpSink, excerpt, type HttpResponse, type HttpSinkOptions, statusVerdict, type Verdict} from './batching.js'
import {basicAuth} from './auth.js'

interface BulkItemResult {
  status: number
  error?: {type?: string; reason?: string}
}

/** The head of a bulk response (scalars before the item list) saying that no item failed. */
const NO_ERRORS = /^\s*\{[^[{]*"errors"\s*:\s*false\s*[,}]/

/**
 * Elasticsearch/OpenSearch `_bulk` (siem-formats.md §7 and its response notes): records are
 * ecs-bulk pairs (`create`, `_id` = chain hash). A 200 may still hold failed items: 429 and 5xx
 * items are sent again alone, 409 means the entry is there already (a resend), any other item
 * failure is reported and ends the run.
 */
export class ElasticsearchSink extends BatchingHttpSink {
  private readonly authorization?: string

  constructor(url: URL, options: HttpSinkOptions & {apiKey?: string} = {}) {
    super(url, options)
    if (!/\/_bulk$/.test(url.pathname)) throw new AuditError(`--to ${this.name}: an Elasticsearch URL ends in /_bulk`)
    this.authorization = options.apiKey ? `ApiKey ${options.apiKey}` : basicAuth(url)
  }

  protected headers(): Record<string, string> {
    return {'content-type': 'application/x-ndjson', ...(this.authorization ? {authorization: this.authorization} : {})}
  }

  /**
   * Takes `count` ecs-bulk records at once, encoded elsewhere (worker threads): each is exactly an
   * action line and a document line (the codec's JSON escapes every newline of log content).
   */
  async writeRecords(block: string | Buffer, count: number): Promise<void> {
    const data = typeof block === 'string' ? Buffer.from(block) : block
    const ends = new Array<number>(count)
    let at = 0
    for (let i = 0; i < count; i++) {
      const action = data.indexOf(10, at)
      const document = action < 0 ? -1 : data.indexOf(10, action + 1)
      if (document < 0) throw new Error(`ecs-bulk block: record ${i + 1} of ${count} is not an action and a document line`)
      at = document + 1
      ends[i] = at
    }
    if (at !== data.length) throw new Error(`ecs-bulk block: more than the ${count} records announced`)
    await this.take(data, ends)
  }

  protected judge(response: HttpResponse, count: number): Verdict {
    if (response.status === 413)
      return {kind: 'fail', reason: 'HTTP 413: the batch is larger than the cluster accepts (http.max_content_length)'}
    if (response.status !== 200) return statusVerdict(response, excerpt(response.body))
    // `errors` precedes `items` (one per document): when it is false there is no item worth parsing.
    if (NO_ERRORS.test(response.body.slice(0, 256))) return {kind: 'delivered'}
    let answer: {errors?: boolean; items?: Array<Record<string, BulkItemResult>>}
    try {
      answer = JSON.parse(response.body)
    } catch {
      return {kind: 'fail', reason: 'HTTP 200 with a body that is not a bulk response'}
    }
    if (!answer.errors) return {kind: 'delivered'}
    if (!Array.isArray(answer.items) || answer.items.length !== count)
      return {kind: 'fail', reason: `bulk response with ${answer.items?.length ?? 0} items for ${count} documents`}
    const again: number[] = []
    let failed = 0
    let first = ''
    let firstRefused = -1
    answer.items.forEach((item, i) => {
      const result = Object.values(item)[0]
      if (!result || (result.status >= 200 && result.status < 300) || result.status === 409) return
      if (result.status === 429 || result.status >= 500) {
        again.push(i)
        return
      }
      failed++
      if (firstRefused < 0) firstRefused = i
      first ||= `status ${result.status} ${result.error?.type ?? ''}: ${excerpt(result.error?.reason ?? '', 160)}`
    })
    if (failed > 0)
      return {
        kind: 'fail',
        reason: `${failed} of ${count} documents refused, first: ${first}`,
        // Items before the first refused or retryable one were taken.
        firstUndelivered: Math.min(firstRefused, again[0] ?? firstRefused),
      }
    if (again.length > 0) return {kind: 'retry', only: again, reason: `${again.length} documents rejected for now (429/5xx)`}
    return {kind: 'delivered'}
  }
}

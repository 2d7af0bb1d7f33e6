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
 * What of the answer is read: each item's status and error (their positions say which document),
 * not its index, id, version and shards, which made the answer a third the size of the request and
 * cost both ends more than gzipping it. The URL's own filter_path is replaced: without `errors` and
 * the statuses, failed items would go unseen.
 */
const FILTER_PATH = 'filter_path=errors,items.*.status,items.*.error'

function withFilterPath(url: URL): URL {
  const filtered = new URL(url)
  const params = url.search
    .slice(1)
    .split('&')
    .filter((param) => param !== '' && !new URLSearchParams(param).has('filter_path'))
  filtered.search = `?${[...params, FILTER_PATH].join('&')}`
  return filtered
}

/**
 * Elasticsearch/OpenSearch `_bulk` (siem-formats.md §7 and its response notes): records are
 * ecs-bulk pairs (`create`, `_id` = chain hash). A 200 may still hold failed items: 429 and 5xx
 * items are sent again alone, 409 means the entry is there already (a resend), any other item
 * failure is reported and ends the run. Answers are asked to hold only what is read (filter_path).
 */
export class ElasticsearchSink extends BatchingHttpSink {
  private readonly authorization?: string

  constructor(url: URL, options: HttpSinkOptions & {apiKey?: string} = {}) {
    super(withFilterPath(url), options)
    if (!/\/_bulk$/.test(url.pathname)) throw new AuditError(`--to ${this.name}: an Elasticsearch URL ends in /_bulk`)
    this.authorization = options.apiKey ? `ApiKey ${options.apiKey}` : basicAuth(url)
  }

  protected headers(): Record<string, string> {
    return {'content-type': 'application/x-ndjson', ...(this.authorization ? {authorization: this.authorization} : {})}
  }

  /**
   * Takes `count` ecs-bulk records at once, encoded elsewhere (worker threads), as text or as UTF-8
   * bytes in parts (not copied into one): each record is exactly an action line and a document line
   * (the codec's JSON escapes every newline of log content).
   */
  async writeRecords(block: string | readonly Uint8Array[], count: number): Promise<void> {
    const parts = typeof block === 'string' ? [Buffer.from(block)] : block
    let records = 0
    // The bytes of a record cut across parts (none from the export threads, which write records whole).
    let carried: Buffer | undefined
    for (const part of parts) {
      const bytes = Buffer.from(part.buffer, part.byteOffset, part.byteLength)
      const data = carried ? Buffer.concat([carried, bytes]) : bytes
      const ends: number[] = []
      let at = 0
      for (;;) {
        const action = data.indexOf(10, at)
        const document = action < 0 ? -1 : data.indexOf(10, action + 1)
        if (document < 0) break
        at = document + 1
        ends.push(at)
      }
      records += ends.length
      if (records > count) throw new Error(`ecs-bulk block: more than the ${count} records announced`)
      carried = at < data.length ? data.subarray(at) : undefined
      if (ends.length > 0) await this.take(at < data.length ? data.subarray(0, at) : data, ends)
    }
    if (records < count || carried)
      throw new Error(`ecs-bulk block: record ${records + 1} of ${count} is not an action and a document line`)
  }

  protected judge(response: HttpResponse, count: number): Verdict {
    if (response.status === 413)
      return {kind: 'fail', reason: 'HTTP 413: the batch is larger than the cluster accepts (http.max_content_length)'}
    if (response.status !== 200) return statusVerdict(response, excerpt(response.body))
    // `errors` precedes `items` (one per document): when it is false there is no item worth parsing.
    if (NO_ERRORS.test(response.head(256))) return {kind: 'delivered'}
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

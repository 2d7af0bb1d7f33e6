import {OutsideError} from '../errors.js'
import {sanitizeLine} from '../text/sanitize.js'
import {type SourceItem, itemFromLine} from './sources.js'
import type {Diagnostics} from '../store/diagnostics.js'

export interface LokiQuery {
  url: string
  query: string
  since: number
  until: number
  /** Lines per request (Loki's `limit`). */
  limit?: number
  now: number
  timeoutMs?: number
}

const MAX_PAGES = 1000

/** The host of a URL without credentials, for messages. */
const shown = (url: string) => {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}`
  } catch {
    return 'the Loki URL'
  }
}

/**
 * Lines from Loki's /loki/api/v1/query_range, oldest first, page by page: each page starts one
 * nanosecond after the last line of the one before (entries sharing that nanosecond across a page
 * edge are the documented cost of paging by time).
 */
export async function* lokiItems(q: LokiQuery, diagnostics: Diagnostics): AsyncGenerator<SourceItem[]> {
  const limit = q.limit ?? 5000
  let start = BigInt(q.since) * 1_000_000n
  const end = BigInt(q.until) * 1_000_000n
  let line = 0
  for (let page = 0; page < MAX_PAGES && start < end; page++) {
    const url = new URL('/loki/api/v1/query_range', q.url.endsWith('/') ? q.url : `${q.url}/`)
    // A path prefix in --loki (a proxy) is kept.
    url.pathname = `${new URL(q.url).pathname.replace(/\/$/, '')}/loki/api/v1/query_range`
    url.search = new URLSearchParams({
      query: q.query,
      start: String(start),
      end: String(end),
      limit: String(limit),
      direction: 'forward',
    }).toString()
    let response: Response
    try {
      response = await fetch(url, {signal: AbortSignal.timeout(q.timeoutMs ?? 30_000)})
    } catch (error) {
      const e = error as Error & {cause?: {code?: string}}
      throw new OutsideError(`Loki at ${shown(q.url)}: ${e.name === 'TimeoutError' ? 'no answer in time' : (e.cause?.code ?? e.message)}`)
    }
    const text = await response.text()
    if (!response.ok)
      throw new OutsideError(`Loki at ${shown(q.url)} answered ${response.status}: ${sanitizeLine(text.slice(0, 200).trim())}`)
    let body: {
      status?: string
      data?: {resultType?: string; result?: Array<{stream?: Record<string, string>; values?: Array<[string, string]>}>}
    }
    try {
      body = JSON.parse(text)
    } catch {
      throw new OutsideError(`Loki at ${shown(q.url)}: the answer is not JSON`)
    }
    if (body.status !== 'success' || body.data?.resultType !== 'streams')
      throw new OutsideError(`Loki at ${shown(q.url)}: expected a streams result (a log query, not a metric query)`)
    const values = (body.data.result ?? []).flatMap((s) => s.values ?? [])
    values.sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : BigInt(a[0]) > BigInt(b[0]) ? 1 : 0))
    const items: SourceItem[] = []
    for (const [ns, text] of values) {
      line++
      const item = itemFromLine(text, 'loki', line, q.now)
      if (!item) {
        // A line without a time of its own takes Loki's.
        const fallback = itemFromLine(`${new Date(Number(BigInt(ns) / 1_000_000n)).toISOString()} ${text}`, 'loki', line, q.now)
        if (fallback) items.push(fallback)
        else diagnostics.report({kind: 'malformed', file: 'loki', line, reason: 'unreadable line'})
        continue
      }
      items.push(item)
    }
    yield items
    if (values.length < limit) return
    start = BigInt(values.at(-1)![0]) + 1n
  }
}

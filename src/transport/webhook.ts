import {OutsideError} from '../errors.js'

export interface WebhookOptions {
  /** Names the destination in messages; the URL itself (a secret) is never shown. */
  name: string
  timeoutMs?: number
  /** Most waits for a 429's Retry-After (each capped by maxWaitMs). */
  retries?: number
  maxWaitMs?: number
  /** How to wait; tests may shorten it. */
  sleep?: (ms: number) => Promise<void>
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * POSTs one JSON document to a webhook. A 429 is waited out as its Retry-After (seconds, or an
 * HTTP date) says, a few times; any other failure is an OutsideError naming the destination by
 * `name` and the status, never the URL, which holds the webhook's secret.
 */
export async function postWebhook(url: string, body: unknown, options: WebhookOptions): Promise<void> {
  const retries = options.retries ?? 3
  const wait = options.sleep ?? sleep
  for (let attempt = 0; ; attempt++) {
    let response: Response
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {'content-type': 'application/json'},
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        redirect: 'error',
      })
    } catch (error) {
      const e = error as Error & {cause?: {code?: string}}
      const why = e.name === 'TimeoutError' ? 'no answer in time' : (e.cause?.code ?? 'connection failed')
      throw new OutsideError(`${options.name} webhook: ${why}`)
    }
    // The body is not shown: a vendor's error page may echo the URL.
    await response.arrayBuffer().catch(() => undefined)
    if (response.ok) return
    if (response.status === 429 && attempt < retries) {
      await wait(Math.min(retryAfterMs(response.headers.get('retry-after')), options.maxWaitMs ?? 60_000))
      continue
    }
    throw new OutsideError(
      `${options.name} webhook: HTTP ${response.status}${response.status === 429 ? ' (still rate-limited after retries)' : ''}`,
    )
  }
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; 1 s when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number {
  if (value === null) return 1000
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.ceil(Number(value) * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? 1000 : Math.max(0, date - now)
}

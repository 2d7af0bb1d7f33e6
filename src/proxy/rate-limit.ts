import {AuditError} from '../errors.js'

const UNITS: Record<string, number> = {s: 1000, m: 60_000, h: 3_600_000}

export interface RateSpec {
  requests: number
  perMs: number
  /** As given, e.g. "60/m". */
  text: string
}

/** Parses "N/s", "N/m" or "N/h" (also "N/min", "N/sec", "N/hour"). */
export function parseRate(text: string, source = '--rate-limit'): RateSpec {
  const match = /^\s*(\d+)\s*\/\s*(s|sec|second|m|min|minute|h|hour)\s*$/i.exec(text)
  if (!match || Number(match[1]) < 1)
    throw new AuditError(`${source} "${text}": expected REQUESTS/UNIT with a positive count and a unit of s, m or h (e.g. 60/m)`)
  return {requests: Number(match[1]), perMs: UNITS[match[2][0].toLowerCase()], text: `${match[1]}/${match[2][0].toLowerCase()}`}
}

interface Bucket {
  tokens: number
  at: number
}

/**
 * Token buckets per client: each holds up to `requests` and refills at requests/perMs, so a client
 * may burst up to the limit and then continue at the average rate. Full buckets are forgotten, so
 * memory follows the clients seen in the last window, not all clients ever.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>()
  private readonly perToken: number
  private lastSweep: number

  constructor(
    private readonly spec: RateSpec,
    private readonly now: () => number = Date.now,
  ) {
    this.perToken = spec.perMs / spec.requests
    this.lastSweep = now()
  }

  /** Takes one request from the client's bucket: 0 when allowed, else the ms until one is allowed. */
  take(client: string): number {
    const now = this.now()
    this.sweep(now)
    const bucket = this.buckets.get(client) ?? {tokens: this.spec.requests, at: now}
    bucket.tokens = Math.min(this.spec.requests, bucket.tokens + (now - bucket.at) / this.perToken)
    bucket.at = now
    this.buckets.set(client, bucket)
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return 0
    }
    return Math.ceil((1 - bucket.tokens) * this.perToken)
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < this.spec.perMs) return
    this.lastSweep = now
    for (const [client, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) / this.perToken >= this.spec.requests) this.buckets.delete(client)
    }
  }
}

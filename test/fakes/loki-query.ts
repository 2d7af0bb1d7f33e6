/**
 * A fake Loki query API: GET /loki/api/v1/query_range with `query`, `start`/`end` (ns), `limit`
 * and `direction`, answering the documented streams result from the lines it holds, and 400
 * with a plain-text parse error for a query that is not a stream selector.
 */
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

export interface LokiLine {
  /** Nanoseconds since the epoch, as a decimal string. */
  ns: string
  line: string
  labels?: Record<string, string>
}

export class FakeLoki {
  readonly requests: URLSearchParams[] = []
  private readonly server: Server
  private port = 0

  constructor(private readonly lines: LokiLine[]) {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x')
      if (url.pathname !== '/loki/api/v1/query_range') {
        res.writeHead(404, {'Content-Type': 'text/plain'})
        res.end('404 page not found\n')
        return
      }
      this.requests.push(url.searchParams)
      const query = url.searchParams.get('query') ?? ''
      if (!/^\{.*\}/.test(query)) {
        res.writeHead(400, {'Content-Type': 'text/plain; charset=utf-8'})
        res.end(`parse error at line 1, col 1: syntax error: unexpected IDENTIFIER\n`)
        return
      }
      const start = BigInt(url.searchParams.get('start') ?? '0')
      const end = BigInt(url.searchParams.get('end') ?? String(BigInt(Date.now()) * 1_000_000n))
      const limit = Number(url.searchParams.get('limit') ?? '100')
      const forward = url.searchParams.get('direction') === 'forward'
      const picked = this.lines
        .filter((l) => BigInt(l.ns) >= start && BigInt(l.ns) < end)
        .sort((a, b) => (BigInt(a.ns) < BigInt(b.ns) ? -1 : 1) * (forward ? 1 : -1))
        .slice(0, limit)
      // Grouped by label set, as Loki returns streams.
      const streams = new Map<string, {stream: Record<string, string>; values: Array<[string, string]>}>()
      for (const l of picked) {
        const labels = l.labels ?? {job: 'test'}
        const key = JSON.stringify(labels)
        if (!streams.has(key)) streams.set(key, {stream: labels, values: []})
        streams.get(key)!.values.push([l.ns, l.line])
      }
      res.writeHead(200, {'Content-Type': 'application/json'})
      res.end(JSON.stringify({status: 'success', data: {resultType: 'streams', result: [...streams.values()], stats: {}}}))
    })
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.port = (this.server.address() as AddressInfo).port
    return this
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  close(): Promise<void> {
    this.server.closeAllConnections()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}

import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {gunzipSync} from 'node:zlib'

/** What a scripted fake does with one request: answer normally, fail with a status, or drop the connection. */
export type Step = 'ok' | 'drop' | {status: number; retryAfter?: string; body?: string}

export interface Received {
  method: string
  path: string
  headers: IncomingMessage['headers']
  body: string
}

/**
 * A loopback HTTP server that plays a script: request n gets step n (then 'ok'), so a test can
 * make an API fail the way its documentation says it fails.
 */
export async function startFake(
  handle: (request: Received, response: ServerResponse) => void,
  script: Step[] = [],
): Promise<{url: string; requests: Received[]; close(): Promise<void>; server: Server}> {
  const requests: Received[] = []
  let n = 0
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const step = script[n++] ?? 'ok'
      if (step === 'drop') {
        req.socket.destroy()
        return
      }
      let raw = Buffer.concat(chunks)
      if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw)
      const received = {method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: raw.toString('utf8')}
      requests.push(received)
      if (step !== 'ok') {
        res.writeHead(step.status, {'content-type': 'application/json', ...(step.retryAfter ? {'retry-after': step.retryAfter} : {})})
        res.end(step.body ?? '{}')
        return
      }
      handle(received, res)
    })
  })
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve)
  })
  const {port} = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    server,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {'content-type': 'application/json'})
  res.end(JSON.stringify(body))
}

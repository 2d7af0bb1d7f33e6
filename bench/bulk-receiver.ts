/**
 * The loopback Elasticsearch `_bulk` receiver of bench/export.ts. It reads the (gunzipped) body,
 * checks what Elasticsearch checks (the final newline, action and document lines in pairs) and
 * answers as it does: `errors: false` and one item per action, cut to the request's filter_path as
 * Elasticsearch cuts it, without parsing the documents, so the rate is the exporter's.
 */
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {gunzipSync} from 'node:zlib'

import {filterPath} from '../test/fakes/elasticsearch.js'

const ID = '@ID@'
const SEQ = '"@SEQ@"'
const ITEM = {
  create: {
    _index: 'logs',
    _id: ID,
    _version: 1,
    result: 'created',
    _shards: {total: 1, successful: 1, failed: 0},
    _seq_no: JSON.parse(SEQ),
    _primary_term: 1,
    status: 201,
  },
}

/** A whole gzip body in one output buffer sized by its trailer (ISIZE), not in 16 KiB pieces joined after. */
function gunzipWhole(body: Buffer): Buffer {
  const size = body.length >= 18 ? body.readUInt32LE(body.length - 4) : 0
  return gunzipSync(body, {chunkSize: Math.min(Math.max(size + 1, 64 * 1024), 256 * 1024 * 1024)})
}

/** The answer's text before its items and one item, with ID and SEQ to fill in, as filter_path cuts them. */
function answerShape(filter: string | null): {head: string; item?: string} {
  const whole = {took: 1, errors: false, items: [ITEM]}
  const shape = (filter ? filterPath(whole, filter.split(',')) : whole) as Partial<typeof whole> | undefined
  const head = JSON.stringify({...shape, items: undefined}).slice(0, -1)
  return {head, item: shape?.items && JSON.stringify(shape.items[0])}
}

/** The answer to as many actions as `ids` (undefined: no id to answer with), _seq_no from `seqNo` on. */
function answer({head, item}: {head: string; item?: string}, ids: Array<string | undefined>, seqNo: number): string {
  if (item === undefined) return `${head}}`
  const items =
    !item.includes(ID) && !item.includes(SEQ)
      ? Array<string>(ids.length).fill(item).join(',')
      : ids.map((id, i) => item.replace(ID, id ?? `auto-${seqNo + i}`).replace(SEQ, String(seqNo + i))).join(',')
  return `${head}${head === '{' ? '' : ','}"items":[${items}]}`
}

export async function startBulkReceiver(): Promise<{url: string; received(): number; refused(): string; close(): void}> {
  let received = 0
  let refused = ''
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipWhole(raw) : raw
      const shape = answerShape(new URLSearchParams(req.url?.split('?')[1] ?? '').get('filter_path'))
      // The ids only when the answer holds them.
      const withIds = shape.item?.includes(ID) === true
      const ids: Array<string | undefined> = []
      let lines = 0
      for (let start = 0, end = body.indexOf(10); end >= 0; start = end + 1, end = body.indexOf(10, start)) {
        if (lines++ % 2 === 1) continue
        ids.push(withIds ? /^\{"create":\{"_id":"([0-9a-f]{64})"\}\}$/.exec(body.toString('latin1', start, end))?.[1] : undefined)
      }
      if (body.at(-1) !== 10 || lines % 2 !== 0) {
        refused ||= `a body of ${lines} lines${body.at(-1) === 10 ? '' : ' without its final newline'}`
        res.writeHead(400, {'content-type': 'application/json'}).end('{"error":{"type":"illegal_argument_exception"},"status":400}')
        return
      }
      res.writeHead(200, {'content-type': 'application/json'})
      res.end(answer(shape, ids, received))
      received += lines / 2
    })
  })
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve)
  })
  const {port} = server.address() as AddressInfo
  return {url: `http://127.0.0.1:${port}/_bulk`, received: () => received, refused: () => refused, close: () => server.close()}
}

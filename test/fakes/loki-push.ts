import {json, type Step, startFake} from './http-base.js'

/**
 * Loki's push API as documented: POST /loki/api/v1/push, `Content-Type: application/json`
 * (snappy protobuf otherwise, which this fake does not speak: 415), body
 * `{"streams":[{"stream":{…},"values":[["<ns string>","line"]]}]}`; 204 on success; an entry older
 * than its stream's newest is 400 "entry out of order".
 */
export async function startLoki(options: {script?: Step[]} = {}) {
  const streams = new Map<string, Array<[string, string]>>()
  const fake = await startFake((req, res) => {
    if (req.method !== 'POST' || req.path.split('?')[0] !== '/loki/api/v1/push') return json(res, 404, {message: '404 page not found'})
    if (!String(req.headers['content-type']).startsWith('application/json')) {
      res.writeHead(415)
      return res.end('unsupported content type')
    }
    let body: {streams?: Array<{stream: Record<string, string>; values: Array<[string, string]>}>}
    try {
      body = JSON.parse(req.body)
    } catch {
      res.writeHead(400)
      return res.end('error parsing push request')
    }
    for (const {stream, values} of body.streams ?? []) {
      const key = JSON.stringify(Object.entries(stream).sort())
      const held = streams.get(key) ?? []
      for (const value of values) {
        if (!/^\d+$/.test(value[0])) {
          res.writeHead(400)
          return res.end(`invalid timestamp ${value[0]}`)
        }
        if (held.length > 0 && BigInt(value[0]) < BigInt(held.at(-1)![0])) {
          res.writeHead(400)
          return res.end(`entry out of order for stream ${key}`)
        }
        held.push(value)
      }
      streams.set(key, held)
    }
    res.writeHead(204)
    res.end()
  }, options.script)
  return {...fake, streams}
}

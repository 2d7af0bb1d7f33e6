import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {OutsideError} from '../../src/errors.js'
import {runExport} from '../../src/export/run.js'
import {Diagnostics} from '../../src/store/diagnostics.js'
import {FileSink} from '../../src/transport/file.js'
import {ElasticsearchSink} from '../../src/transport/http/elasticsearch.js'
import {startElasticsearch} from '../fakes/elasticsearch.js'
import {chainedLines, type EntrySpec, seededRandom, tempDir, writeLog} from '../helpers.js'

// `_bulk` fed by the export threads (ecs-bulk records encoded on workers, handed to the sink a
// block at a time): the same bytes as the one-thread file export, and a --since-last state that
// stops exactly at the last entry the server took, also inside a block.

const DAYS = ['2026-11-01', '2026-11-02', '2026-11-03']
const PER_DAY = 1500

function corpus(): {dir: string; hashes: string[]} {
  const dir = tempDir('export-bulk-')
  const hashes: string[] = []
  let prev: string | undefined
  for (const [d, day] of DAYS.entries()) {
    const specs: EntrySpec[] = Array.from({length: PER_DAY}, (_, i) => ({
      timestamp: new Date(Date.parse(`${day}T00:00:00.000Z`) + i * 1000).toISOString(),
      event: ['auth.login', 'auth.fail', 'api.request'][i % 3],
      actor: `user${i % 7}`,
      details: {i, ip: `10.0.${d}.${i % 250}`, note: i % 40 === 0 ? 'line\nbreak "quoted" é' : 'plain'},
    }))
    const chained = chainedLines(specs, prev)
    prev = chained.head
    hashes.push(...chained.lines.map((line) => JSON.parse(line).chain_hash as string))
    // A malformed line: reported and skipped, so entries and lines are numbered differently.
    const lines = [...chained.lines]
    lines.splice(300, 0, '{"timestamp": broken')
    writeLog(dir, `audit-${day}.jsonl`, lines)
  }
  return {dir, hashes}
}

/** Threads from the first byte, ranges of 32 KiB: blocks of about a hundred entries. */
const threaded = {parallelBytes: 0, rangeBytes: 32 * 1024}

function sink(url: string): ElasticsearchSink {
  return new ElasticsearchSink(new URL(`${url}/_bulk`), {batchCount: 64, backoffMs: 1, maxBackoffMs: 5})
}

/** The request bodies in export order (two are out at a time, so they may arrive in another). */
function inOrder(bodies: string[], hashes: string[]): string[] {
  const at = new Map(hashes.map((h, i) => [h, i]))
  const first = (body: string) => at.get(/"_id":"([0-9a-f]{64})"/.exec(body)![1])!
  return [...bodies].sort((a, b) => first(a) - first(b))
}

const stateHash = (path: string) => JSON.parse(readFileSync(path, 'utf8')).chain_hash as string

describe('export to _bulk on threads', () => {
  it('sends the bytes of the one-thread ecs-bulk file export, each entry once, and the state ends at the last', async () => {
    const {dir, hashes} = corpus()
    const file = join(tempDir(), 'out.ndjson')
    const fileDiagnostics = new Diagnostics()
    await runExport({
      dir,
      filter: {},
      format: 'ecs-bulk',
      sink: await FileSink.open(file),
      diagnostics: fileDiagnostics,
      parallelBytes: 1e12,
    })
    const es = await startElasticsearch({script: [{status: 500}, 'drop']})
    try {
      const state = join(tempDir(), 'state')
      const diagnostics = new Diagnostics()
      const result = await runExport({dir, filter: {}, format: 'ecs-bulk', sink: sink(es.url), sinceLast: state, diagnostics, ...threaded})
      assert.equal(result.exported, hashes.length)
      assert.deepEqual(diagnostics.lines(), fileDiagnostics.lines())
      assert.equal(es.documents.size, hashes.length)
      // The first request was answered 500 (and sent again); the dropped one is not recorded.
      const sent = inOrder(
        es.requests.slice(1).map((q) => q.body),
        hashes,
      ).join('')
      assert.equal(createHash('sha256').update(sent).digest('hex'), createHash('sha256').update(readFileSync(file)).digest('hex'))
      assert.equal(stateHash(state), hashes.at(-1))
    } finally {
      await es.close()
    }
  })

  it('a refused entry inside a block: the state stops just before it, and the next run sends the rest, each once', async () => {
    const {dir, hashes} = corpus()
    const refused = PER_DAY + 777
    const es = await startElasticsearch({idFailures: {[hashes[500]]: [429], [hashes[refused]]: [400]}})
    try {
      const state = join(tempDir(), 'state')
      await assert.rejects(
        runExport({dir, filter: {}, format: 'ecs-bulk', sink: sink(es.url), sinceLast: state, ...threaded}),
        (error: Error) => error instanceof OutsideError && /1 of 64 documents refused/.test(error.message),
      )
      const stopped = JSON.parse(readFileSync(state, 'utf8'))
      assert.equal(stopped.chain_hash, hashes[refused - 1])
      // Entry 776 of the second day (from 0) is on line 778: the malformed line 301 comes before it.
      assert.deepEqual([stopped.file, stopped.line], ['audit-2026-11-02.jsonl', 778])
      const before = es.requests.length
      const result = await runExport({dir, filter: {}, format: 'ecs-bulk', sink: sink(es.url), sinceLast: state, ...threaded})
      assert.equal(result.exported, hashes.length - refused)
      assert.deepEqual([...es.documents.keys()].map((k) => k.split('/')[1]).sort(), [...hashes].sort())
      const resent = es.requests.slice(before).flatMap((q) => [...q.body.matchAll(/"_id":"([0-9a-f]{64})"/g)].map((m) => m[1]))
      assert.deepEqual(resent.sort(), hashes.slice(refused).sort(), 'the second run sends exactly the entries after the state')
      assert.equal(stateHash(state), hashes.at(-1))
    } finally {
      await es.close()
    }
  })
})

describe('the loopback _bulk receiver', () => {
  it('refuses, as Elasticsearch does, a body without its final newline, an action without its source, a line not JSON', async () => {
    const es = await startElasticsearch()
    try {
      const post = async (body: string) => {
        const response = await fetch(`${es.url}/_bulk`, {method: 'POST', headers: {'content-type': 'application/x-ndjson'}, body})
        return {status: response.status, type: ((await response.json()) as {error?: {type?: string}}).error?.type}
      }
      const action = '{"create":{"_id":"a1"}}'
      assert.deepEqual(await post(`${action}\n{"x":1}`), {status: 400, type: 'illegal_argument_exception'})
      assert.deepEqual(await post(`${action}\n{"x":1}\n${action}\n`), {status: 400, type: 'action_request_validation_exception'})
      assert.deepEqual(await post(`${action}\n{"x":1\n`), {status: 400, type: 'x_content_parse_exception'})
      assert.deepEqual(await post(`${action}\n{"x":1}\n`), {status: 200, type: undefined})
      assert.equal(es.documents.size, 1)
    } finally {
      await es.close()
    }
  })
})

describe('ElasticsearchSink', () => {
  /** n ecs-bulk records (action and document lines), some with multi-byte text, and their ids. */
  const records = (n: number) => {
    const ids = Array.from({length: n}, (_, i) => createHash('sha256').update(String(i)).digest('hex'))
    return {ids, texts: ids.map((id, i) => `{"create":{"_id":"${id}"}}\n{"n":${i},"t":"${'é€'.repeat(i % 5)}"}\n`)}
  }

  /** The bytes cut at random places (inside records and characters too). */
  const cut = (bytes: Buffer, seed: number) => {
    const {random} = seededRandom(seed)
    const parts: Buffer[] = []
    for (let at = 0; at < bytes.length; ) {
      const size = Math.min(bytes.length - at, 1 + Math.floor(random() * 900))
      parts.push(bytes.subarray(at, at + size))
      at += size
    }
    return parts
  }

  for (const gzip of [true, false])
    it(`takes a block in parts cut anywhere and sends its records whole, in order, each once (${gzip ? 'gzip' : 'plain'} bodies)`, async () => {
      const es = await startElasticsearch()
      try {
        const {ids, texts} = records(300)
        const bulk = new ElasticsearchSink(new URL(`${es.url}/_bulk`), {batchCount: 64, gzip})
        await bulk.writeRecords(cut(Buffer.from(texts.join('')), 10), texts.length)
        await bulk.close()
        assert.equal(bulk.acknowledged, texts.length)
        assert.equal(es.documents.size, texts.length)
        assert.equal(es.requests[0].headers['content-encoding'], gzip ? 'gzip' : undefined)
        assert.equal(
          inOrder(
            es.requests.map((q) => q.body),
            ids,
          ).join(''),
          texts.join(''),
        )
      } finally {
        await es.close()
      }
    })

  it('refuses a block that does not hold the records it announces', async () => {
    const {texts} = records(20)
    const parts = cut(Buffer.from(texts.join('')), 11)
    await assert.rejects(sink('http://127.0.0.1:9').writeRecords(parts, 19), /more than the 19 records announced/)
    const torn = [...parts.slice(0, -1), parts.at(-1)!.subarray(0, -1)]
    await assert.rejects(sink('http://127.0.0.1:9').writeRecords(torn, 20), /record 20 of 20 is not an action and a document line/)
  })

  it("asks for only the answer's statuses and errors, in place of the URL's own filter_path, other parameters kept", async () => {
    const es = await startElasticsearch()
    try {
      const bulk = new ElasticsearchSink(new URL(`${es.url}/logs/_bulk?pipeline=a%20b&filter_path=took&refresh=false`))
      const {texts} = records(3)
      await bulk.writeRecords(texts.join(''), 3)
      await bulk.close()
      assert.equal(es.requests[0].path, '/logs/_bulk?pipeline=a%20b&refresh=false&filter_path=errors,items.*.status,items.*.error')
      assert.equal(bulk.acknowledged, 3)
    } finally {
      await es.close()
    }
  })

  it('reads an answer that arrives in pieces: the errors flag past the first piece, item errors past the head', async () => {
    const {texts} = records(3)
    const items = (statuses: number[]) =>
      statuses.map((status) => ({create: status < 300 ? {status} : {status, error: {type: 'mapper_parsing_exception', reason: 'bad'}}}))
    for (const [answer, refused] of [
      [{took: 1, errors: false, items: items([201, 201, 201])}, false],
      [{took: 1, errors: true, items: items([201, 400, 201])}, true],
    ] as const) {
      const text = JSON.stringify(answer)
      const server = createServer((req, res) => {
        req.resume()
        req.on('end', async () => {
          res.writeHead(200, {'content-type': 'application/json'})
          // Pieces of 5 bytes, each written on its own turn: `"errors"` is not in the first.
          for (let at = 0; at < text.length; at += 5) {
            res.write(text.slice(at, at + 5))
            await new Promise((resolve) => setImmediate(resolve))
          }
          res.end()
        })
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      try {
        const bulk = sink(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
        await bulk.writeRecords(texts.join(''), 3)
        if (refused) await assert.rejects(bulk.close(), /1 of 3 documents refused, first: status 400 mapper_parsing_exception: bad/)
        else await bulk.close()
        assert.equal(bulk.acknowledged, refused ? 1 : 3)
      } finally {
        server.close()
      }
    }
  })
})

import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {OutsideError} from '../../src/errors.js'
import {runExport} from '../../src/export/run.js'
import {Diagnostics} from '../../src/store/diagnostics.js'
import {FileSink} from '../../src/transport/file.js'
import {ElasticsearchSink} from '../../src/transport/http/elasticsearch.js'
import {startElasticsearch} from '../fakes/elasticsearch.js'
import {chainedLines, type EntrySpec, tempDir, writeLog} from '../helpers.js'

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

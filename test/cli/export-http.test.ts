import assert from 'node:assert/strict'
import {appendFileSync, existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {startElasticsearch} from '../fakes/elasticsearch.js'
import {startLoki} from '../fakes/loki-push.js'
import {startSplunk} from '../fakes/splunk.js'
import type {Step} from '../fakes/http-base.js'
import {chainedLines, type EntrySpec, runAudit, spawnAudit, tempDir, writeLog} from '../helpers.js'

const N = 20

function makeLog(): {dir: string; hashes: string[]} {
  const dir = tempDir()
  const specs: EntrySpec[] = Array.from({length: N}, (_, i) => ({
    timestamp: `2026-11-02T10:00:${String(i).padStart(2, '0')}.000Z`,
    event: i % 3 ? 'auth.fail' : 'api.request',
    level: i % 3 ? 'warning' : 'info',
    actor: `user${i}`,
    details: {n: i},
  }))
  const {lines} = chainedLines(specs)
  writeLog(dir, 'audit-2026-11-02.jsonl', lines)
  return {dir, hashes: lines.map((l) => JSON.parse(l).chain_hash)}
}

const oneLine = (text: string) => text.split('\n').filter((l) => l !== '').length === 1

describe('audit export --to Elasticsearch _bulk', () => {
  it('500, 429 with Retry-After, a dropped connection and a retryable item error: every entry indexed exactly once', async () => {
    const {dir, hashes} = makeLog()
    const es = await startElasticsearch({
      script: [{status: 500}, {status: 429, retryAfter: '1'}, 'drop'],
      idFailures: {[hashes[7]]: [429], [hashes[8]]: [503]},
    })
    try {
      const state = join(tempDir(), 'state')
      const r = await runAudit(['export', '--dir', dir, '--to', `${es.url}/logs-audit/_bulk`, '--batch-size', '5', '--since-last', state])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, '')
      assert.deepEqual([...es.documents.keys()].sort(), hashes.map((h) => `logs-audit/${h}`).sort())
      const created = es.requests
        .filter((q) => q.path.split('?')[0].endsWith('_bulk'))
        .map((q) => q.body.split('\n').filter((l) => l.startsWith('{"create"')).length)
      // Two batches are out at a time, so which one met the 500, the 429 and the drop varies: two whole
      // batches answered 500 and 429 (the dropped try is not recorded), the 4 batches, the 2 items
      // answered 429/503 sent again alone.
      assert.equal(
        created.reduce((a, b) => a + b, 0),
        5 + 5 + 20 + 2,
      )
      assert.equal(created.filter((n) => n === 2).length, 1)
      assert.equal(es.requests[0].headers['content-encoding'], 'gzip')
      assert.equal(es.requests[0].headers['content-type'], 'application/x-ndjson')
      // The answers hold only what is read: the item errors above were read from them.
      assert.equal(es.requests[0].path, '/logs-audit/_bulk?filter_path=errors,items.*.status,items.*.error')
      assert.equal(JSON.parse(readFileSync(state, 'utf8')).chain_hash, hashes.at(-1))
    } finally {
      await es.close()
    }
  })

  it('a refused item is exit 3 with one line; the state stops just before it; the next run sends the rest, each entry once', async () => {
    const {dir, hashes} = makeLog()
    const state = join(tempDir(), 'state')
    // Entry 7 (the third of the second batch) is refused once; entry 6 waits for a retry (429) in the same answer.
    const es = await startElasticsearch({idFailures: {[hashes[6]]: [429], [hashes[7]]: [400]}})
    try {
      const r = await runAudit(['export', '--dir', dir, '--to', `${es.url}/_bulk`, '--batch-size', '5', '--since-last', state])
      assert.equal(r.code, 3)
      assert.ok(oneLine(r.stderr), r.stderr)
      assert.match(
        r.stderr,
        /^audit export: error: http:\/\/127\.0\.0\.1:\d+\/_bulk: 1 of 5 documents refused, first: status 400 mapper_parsing_exception: scripted 400\n$/,
      )
      // Within the batch: advanced to the last entry before the first one not taken (6, to be retried).
      assert.equal(JSON.parse(readFileSync(state, 'utf8')).chain_hash, hashes[5])
      assert.equal(es.documents.has(`missing/${hashes[6]}`), false)
      // The run resumes from there; what landed already answers 409 and counts as delivered.
      const again = await runAudit(['export', '--dir', dir, '--to', `${es.url}/_bulk`, '--batch-size', '5', '--since-last', state])
      assert.equal(again.code, 0, again.stderr)
      assert.deepEqual([...es.documents.keys()].map((k) => k.split('/')[1]).sort(), [...hashes].sort())
      assert.equal(JSON.parse(readFileSync(state, 'utf8')).chain_hash, hashes.at(-1))
      const sentAgain = es.requests.at(-1)?.body ?? ''
      assert.ok(!sentAgain.includes(hashes[5]), 'entries up to the state are not sent again')
    } finally {
      await es.close()
    }
  })

  it('killed with SIGKILL while batches are out, then resumed: every entry indexed exactly once', {timeout: 120_000}, async () => {
    const dir = tempDir()
    const entry = (i: number): EntrySpec => ({timestamp: new Date(Date.UTC(2026, 10, 2, 10) + i).toISOString(), event: 'a.b', details: {i}})
    const first = chainedLines(Array.from({length: 1000}, (_, i) => entry(i)))
    writeLog(dir, 'audit-2026-11-02.jsonl', first.lines)
    // Ten batches of the first run, four of the second, then a 429 that holds the second run until it is killed.
    const es = await startElasticsearch({script: [...Array.from({length: 14}, (): Step => 'ok'), {status: 429, retryAfter: '60'}]})
    const state = join(tempDir(), 'state')
    const args = ['export', '--dir', dir, '--to', `${es.url}/_bulk`, '--batch-size', '100', '--since-last', state]
    try {
      const one = await runAudit(args)
      assert.equal(one.code, 0, one.stderr)
      const more = chainedLines(
        Array.from({length: 2000}, (_, i) => entry(1000 + i)),
        first.head,
      )
      appendFileSync(join(dir, 'audit-2026-11-02.jsonl'), `${more.lines.join('\n')}\n`)
      const hashes = [...first.lines, ...more.lines].map((l) => JSON.parse(l).chain_hash as string)

      const child = spawnAudit(args)
      const exited = new Promise((resolve) => child.on('exit', resolve))
      const end = Date.now() + 60_000
      while (es.requests.length < 15 && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
      child.kill('SIGKILL')
      await exited
      assert.equal(JSON.parse(readFileSync(state, 'utf8')).chain_hash, hashes[999], 'a killed run leaves the state as it was')
      assert.ok(es.documents.size > 1000 && es.documents.size < 3000, `killed mid-run (${es.documents.size} documents)`)

      const sentBefore = es.requests.length
      const three = await runAudit(args)
      assert.equal(three.code, 0, three.stderr)
      assert.deepEqual([...es.documents.keys()].map((k) => k.split('/')[1]).sort(), [...hashes].sort())
      assert.equal(JSON.parse(readFileSync(state, 'utf8')).chain_hash, hashes.at(-1))
      const resent = es.requests.slice(sentBefore).map((q) => q.body)
      assert.ok(
        resent.every((body) => !body.includes(hashes[999])),
        'what the state covers is not sent again',
      )
    } finally {
      await es.close()
    }
  })

  it('--batch-bytes: a batch is cut before the record that would pass it; an entry larger than it goes alone', async () => {
    const dir = tempDir()
    const big = 17
    const {lines} = chainedLines(
      Array.from({length: 40}, (_, i) => ({
        timestamp: '2026-11-02T10:00:00.000Z',
        event: 'a.b',
        details: {i, pad: 'x'.repeat(i === big ? 4000 : 60 + ((i * 37) % 200))},
      })),
    )
    writeLog(dir, 'audit-2026-11-02.jsonl', lines)
    const hashes = lines.map((l) => JSON.parse(l).chain_hash as string)
    const es = await startElasticsearch()
    const cap = 2048
    try {
      const state = join(tempDir(), 'state')
      const r = await runAudit(['export', '--dir', dir, '--to', `${es.url}/_bulk`, '--batch-bytes', String(cap), '--since-last', state])
      assert.equal(r.code, 0, r.stderr)
      assert.deepEqual([...es.documents.keys()].map((k) => k.split('/')[1]).sort(), [...hashes].sort())
      // The requests in export order (two are out at a time), each cut into its records (action and document lines).
      const at = new Map(hashes.map((h, i) => [h, i]))
      const idOf = (record: string): string => JSON.parse(record.slice(0, record.indexOf('\n'))).create._id
      const batches = es.requests.map((q) => q.body.match(/[^\n]*\n[^\n]*\n/g)!).sort((a, b) => at.get(idOf(a[0]))! - at.get(idOf(b[0]))!)
      const bytes = (records: string[]) => Buffer.byteLength(records.join(''))
      assert.deepEqual(batches.flat().map(idOf), hashes, 'every entry once, in order')
      const large = batches.find((b) => b.some((record) => idOf(record) === hashes[big]))!
      assert.ok(large.length === 1 && bytes(large) > cap, 'the large entry went alone')
      for (const [i, batch] of batches.entries()) {
        if (batch.length > 1) assert.ok(bytes(batch) <= cap, `batch ${i}: ${bytes(batch)} bytes`)
        // Cut only when the next record would not fit.
        if (i < batches.length - 1) assert.ok(bytes(batch) + bytes(batches[i + 1].slice(0, 1)) > cap, `batch ${i} was cut early`)
      }
      assert.ok(batches.length >= 10, `${batches.length} batches`)
      assert.equal(JSON.parse(readFileSync(state, 'utf8')).chain_hash, hashes.at(-1))
    } finally {
      await es.close()
    }
  })

  it('a server that keeps failing: exit 3 after the retries, no state written', async () => {
    const {dir} = makeLog()
    const state = join(tempDir(), 'state')
    const es = await startElasticsearch({script: Array.from({length: 10}, () => ({status: 503}))})
    try {
      const r = await runAudit(['export', '--dir', dir, '--to', `${es.url}/_bulk`, '--retries', '2', '--since-last', state])
      assert.equal(r.code, 3)
      assert.match(r.stderr, /^audit export: error: http:\/\/127\.0\.0\.1:\d+\/_bulk: HTTP 503 \(\{\}\); gave up after 3 attempts\n$/)
      assert.equal(existsSync(state), false)
      assert.equal(es.documents.size, 0)
    } finally {
      await es.close()
    }
    const dead = await runAudit(['export', '--dir', dir, '--to', 'http://127.0.0.1:1/_bulk', '--retries', '0'])
    assert.equal(dead.code, 3)
    assert.match(dead.stderr, /connection refused; gave up after 1 attempts/)
  })

  it('credentials in the URL become Basic auth and never appear in messages; a wrong --format is refused', async () => {
    const {dir} = makeLog()
    const es = await startElasticsearch({script: [{status: 401, body: '{"error":"nope"}'}]})
    try {
      const r = await runAudit(['export', '--dir', dir, '--to', `${es.url.replace('http://', 'http://elastic:s3cret@')}/_bulk`])
      assert.equal(r.code, 3)
      assert.doesNotMatch(r.stderr, /s3cret|elastic:/)
      assert.equal(es.requests[0].headers.authorization, `Basic ${Buffer.from('elastic:s3cret').toString('base64')}`)
    } finally {
      await es.close()
    }
    const wrong = await runAudit(['export', '--dir', dir, '--to', 'http://127.0.0.1:9/_bulk', '--format', 'cef'])
    assert.equal(wrong.code, 2)
    assert.match(wrong.stderr, /--format cef: elasticsearch takes ecs-bulk records/)
    const unknown = await runAudit(['export', '--dir', dir, '--to', 'http://127.0.0.1:9/somewhere'])
    assert.equal(unknown.code, 2)
    assert.match(
      unknown.stderr,
      /expected an Elasticsearch …\/_bulk, a Splunk …\/services\/collector\/event or a Loki …\/loki\/api\/v1\/push URL/,
    )
  })
})

describe('audit export --to Splunk HEC', () => {
  const TOKEN = '11111111-2222-3333-4444-555555555555'

  it('indexer acknowledgement, 503 server busy and a dropped connection: every event once, with time in seconds', async () => {
    const {dir, hashes} = makeLog()
    const hec = await startSplunk({
      token: TOKEN,
      acks: true,
      ackAfterPolls: 2,
      script: [{status: 503, body: '{"text":"Server is busy","code":9}'}, 'drop'],
    })
    try {
      const r = await runAudit(
        ['export', '--dir', dir, '--to', `${hec.url}/services/collector/event`, '--batch-size', '7', '--format-option', 'index=main'],
        {env: {AUDIT_HEC_TOKEN: TOKEN}},
      )
      assert.equal(r.code, 0, r.stderr)
      assert.deepEqual(
        hec.events.map((e) => (e.event as {chain_hash: string}).chain_hash),
        hashes,
      )
      assert.equal(hec.events[0].time, 1_793_613_600)
      assert.equal(hec.events[1].time, 1_793_613_601)
      assert.ok(hec.requests.some((q) => q.path === '/services/collector/ack'))
    } finally {
      await hec.close()
    }
  })

  it('a wrong token is exit 3 in one line that does not print the token; no token is exit 2', async () => {
    const {dir} = makeLog()
    const hec = await startSplunk({token: TOKEN})
    try {
      const r = await runAudit(['export', '--dir', dir, '--to', `${hec.url}/services/collector/event`], {
        env: {AUDIT_HEC_TOKEN: 'wrong-token-value'},
      })
      assert.equal(r.code, 3)
      assert.ok(oneLine(r.stderr))
      assert.match(r.stderr, /HTTP 403 \(Invalid token, code 4\)/)
      assert.doesNotMatch(r.stderr + r.stdout, /wrong-token-value/)
      assert.equal(hec.requests.length, 1) // 403 is not retried
      const none = await runAudit(['export', '--dir', dir, '--to', `${hec.url}/services/collector/event`])
      assert.equal(none.code, 2)
      assert.match(none.stderr, /needs a token in \$AUDIT_HEC_TOKEN or config export\.hec_token/)
    } finally {
      await hec.close()
    }
  })
})

describe('audit export --to Loki', () => {
  it('429 with Retry-After, a dropped connection, then 204: every entry once, in order, in streams by label', async () => {
    const {dir, hashes} = makeLog()
    const loki = await startLoki({script: [{status: 429, retryAfter: '1', body: 'Ingestion rate limit exceeded'}, 'drop']})
    try {
      const r = await runAudit(['export', '--dir', dir, '--to', `${loki.url}/loki/api/v1/push`, '--batch-size', '8'])
      assert.equal(r.code, 0, r.stderr)
      const values = [...loki.streams.values()].flat()
      assert.equal(values.length, N)
      assert.deepEqual(values.map(([, line]) => JSON.parse(line).chain_hash).sort(), [...hashes].sort())
      const labels = [...loki.streams.keys()].map((k) => Object.fromEntries(JSON.parse(k)))
      assert.deepEqual(labels.map((l) => l.event).sort(), ['api.request', 'auth.fail'])
      assert.ok(labels.every((l) => l.job === 'auditkit' && l.host === 'test' && !('actor' in l)))
    } finally {
      await loki.close()
    }
  })

  it('400 (out of order) is final: exit 3 with the reason', async () => {
    const {dir} = makeLog()
    const loki = await startLoki({script: [{status: 400, body: 'entry out of order'}]})
    try {
      const r = await runAudit(['export', '--dir', dir, '--to', `${loki.url}/loki/api/v1/push`])
      assert.equal(r.code, 3)
      assert.match(r.stderr, /HTTP 400 \(entry out of order\)\n$/)
      assert.equal(loki.requests.length, 1)
    } finally {
      await loki.close()
    }
  })
})

describe('audit export --to without batch flags', () => {
  it('the default batch size applies: 12,000 entries go in 3 requests, not one', async () => {
    const dir = tempDir()
    const {lines} = chainedLines(
      Array.from({length: 12_000}, (_, i) => ({timestamp: '2026-11-02T10:00:00.000Z', event: 'a.b', details: {i}})),
    )
    writeLog(dir, 'audit-2026-11-02.jsonl', lines)
    const es = await startElasticsearch()
    try {
      const r = await runAudit(['export', '--dir', dir, '--to', `${es.url}/_bulk`], {timeoutMs: 120_000})
      assert.equal(r.code, 0, r.stderr)
      assert.equal(es.requests.length, 3)
      assert.equal(es.documents.size, 12_000)
    } finally {
      await es.close()
    }
  })
})

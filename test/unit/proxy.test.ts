import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'

import {TrustedProxies} from '../../src/proxy/client-ip.js'
import {EventBuffer} from '../../src/proxy/event-buffer.js'
import {type EventSink, writerSink} from '../../src/proxy/event-sink.js'
import {endToEnd} from '../../src/proxy/http-util.js'
import {inspectRequest, MAX_LOGGED_PROMPT, ModelAllowList, ResponseTail} from '../../src/proxy/inspect.js'
import {listValues, parseListen, parseUpstream} from '../../src/proxy/options.js'
import {parseRate, RateLimiter} from '../../src/proxy/rate-limit.js'
import {TokenStore} from '../../src/proxy/tokens.js'
import {AuditWriter, type WriteInput} from '../../src/index.js'
import {tempDir} from '../helpers.js'

function tokenFile(text: string): string {
  const path = join(tempDir('tokens-'), 'tokens')
  writeFileSync(path, text, {mode: 0o600})
  return path
}

test('TokenStore: names the token a header carries; missing, malformed and unknown are told apart', () => {
  const store = TokenStore.load(tokenFile('# comment\n\nalice  aaaaaaaaaaaaaaaa1\n bob\tbbbbbbbbbbbbbbbb2 \n'))
  assert.equal(store.size, 2)
  assert.deepEqual(store.check('Bearer aaaaaaaaaaaaaaaa1'), {name: 'alice'})
  assert.deepEqual(store.check('bearer  bbbbbbbbbbbbbbbb2'), {name: 'bob'})
  assert.deepEqual(store.check(undefined), {failure: 'missing'})
  assert.deepEqual(store.check(''), {failure: 'missing'})
  assert.deepEqual(store.check('Basic YWxpY2U6eA=='), {failure: 'malformed'})
  assert.deepEqual(store.check('Bearer a b'), {failure: 'malformed'})
  assert.deepEqual(store.check('Bearer aaaaaaaaaaaaaaaa'), {failure: 'unknown'})
  assert.deepEqual(store.check('Bearer aaaaaaaaaaaaaaaa1x'), {failure: 'unknown'})
  assert.deepEqual(store.check(`Bearer ${'a'.repeat(100_000)}`), {failure: 'unknown'})
})

test('TokenStore: a bad file fails whole with file:line, and never quotes a token', () => {
  const secret = 'zzzzzzzzzzzzzzzzzzzz'
  for (const [text, message] of [
    [`alice ${secret} extra\n`, /:1: expected "NAME TOKEN"/],
    [`alice\n`, /:1: expected "NAME TOKEN"/],
    [`# x\n-alice ${secret}\n`, /:2: token name must be/],
    [`alice short\n`, /:1: the token of "alice" is shorter than 16/],
    [`alice ${secret}\nalice ${secret}1\n`, /:2: token name "alice" given twice/],
    [`alice ${secret}\nbob ${secret}\n`, /:2: the token of "bob" is also another name's token/],
    ['# only comments\n', /no tokens/],
  ] as const) {
    const file = tokenFile(text)
    assert.throws(
      () => TokenStore.load(file),
      (error: Error) => {
        assert.match(error.message, message)
        assert.ok(error.message.startsWith(file) || error.message.startsWith('--tokens'))
        assert.ok(!error.message.includes(secret))
        return true
      },
    )
  }
  assert.throws(() => TokenStore.load(tempDir()), /not a regular file/)
})

test('parseRate and RateLimiter: bursts up to the limit, then the average rate; clients apart; idle buckets forgotten', () => {
  assert.deepEqual(parseRate('60/m'), {requests: 60, perMs: 60_000, text: '60/m'})
  assert.deepEqual(parseRate('5/sec'), {requests: 5, perMs: 1000, text: '5/s'})
  assert.deepEqual(parseRate('1000 / hour'), {requests: 1000, perMs: 3_600_000, text: '1000/h'})
  for (const bad of ['0/m', '60', '60/d', '-1/s', 'x/m', '1.5/s']) assert.throws(() => parseRate(bad), /--rate-limit/)
  let now = 1_000_000
  const limiter = new RateLimiter(parseRate('3/m'), () => now)
  assert.deepEqual([limiter.take('a'), limiter.take('a'), limiter.take('a')], [0, 0, 0])
  assert.equal(limiter.take('a'), 20_000)
  assert.equal(limiter.take('b'), 0)
  now += 19_999
  assert.ok(limiter.take('a') > 0)
  now += 1
  assert.equal(limiter.take('a'), 0)
  // After a long idle spell the bucket is full again (and was dropped from memory).
  now += 10 * 60_000
  assert.deepEqual([limiter.take('a'), limiter.take('a'), limiter.take('a'), limiter.take('a') > 0], [0, 0, 0, true])
  assert.equal((limiter as unknown as {buckets: Map<string, unknown>}).buckets.has('b'), false)
})

test('TrustedProxies: X-Forwarded-For only from a trusted peer, rightmost untrusted hop, forged entries left of it ignored', () => {
  const none = new TrustedProxies([])
  assert.equal(none.clientIp('127.0.0.1', '203.0.113.9'), '127.0.0.1')
  assert.equal(none.clientIp('::ffff:10.1.2.3', undefined), '10.1.2.3')
  const trusted = new TrustedProxies(['127.0.0.1', '10.0.0.0/8', 'fd00::/8'])
  assert.equal(trusted.clientIp('127.0.0.1', '203.0.113.9'), '203.0.113.9')
  assert.equal(trusted.clientIp('::ffff:127.0.0.1', '1.1.1.1, 203.0.113.9, 10.0.0.7'), '203.0.113.9')
  assert.equal(trusted.clientIp('fd00::1', ['198.51.100.4', '10.2.2.2']), '198.51.100.4')
  assert.equal(trusted.clientIp('192.0.2.1', '203.0.113.9'), '192.0.2.1')
  // Garbage stops the walk at the last good hop.
  assert.equal(trusted.clientIp('127.0.0.1', 'evil\u001b[2J, 10.0.0.9'), '10.0.0.9')
  assert.equal(trusted.clientIp('127.0.0.1', 'not-an-ip'), '127.0.0.1')
  for (const bad of ['10.0.0.0/33', 'fd00::/129', 'host.example', '10.0.0.1/8/1', '10.0.0.0/x'])
    assert.throws(() => new TrustedProxies([bad]), /--trust-proxy/)
})

test('inspectRequest: model, prompt size and sha256 per endpoint; the text only when asked; bad JSON is not ours to judge', () => {
  const sha = (t: string) => createHash('sha256').update(t).digest('hex')
  const body = (v: unknown) => Buffer.from(JSON.stringify(v))
  assert.deepEqual(inspectRequest(body({model: 'm', prompt: 'héllo', stream: false}), false), {
    model: 'm',
    stream: false,
    prompt_bytes: 6,
    prompt_sha256: sha('héllo'),
  })
  assert.deepEqual(
    inspectRequest(body({model: 'm', messages: [{role: 'system', content: 'a'}, {role: 'user', content: 'b'}, {role: 'user'}]}), true),
    {model: 'm', prompt_bytes: 4, prompt_sha256: sha('a\nb\n'), prompt: 'a\nb\n'},
  )
  assert.deepEqual(inspectRequest(body({model: 'e', input: ['x', 'y']}), false), {model: 'e', prompt_bytes: 3, prompt_sha256: sha('x\ny')})
  assert.deepEqual(inspectRequest(body({name: 'legacy'}), false), {model: 'legacy'})
  assert.deepEqual(inspectRequest(body({source: 'a', destination: 'b'}), false), {model: 'a'})
  assert.deepEqual(inspectRequest(Buffer.from('{"model":'), false), {})
  assert.deepEqual(inspectRequest(Buffer.from('[1]'), false), {})
  assert.deepEqual(inspectRequest(Buffer.alloc(0), false), {})
  const long = inspectRequest(body({model: 'm', prompt: 'x'.repeat(MAX_LOGGED_PROMPT + 10)}), true)
  assert.equal(long.prompt!.length, MAX_LOGGED_PROMPT)
  assert.equal(long.prompt_truncated, true)
  assert.equal(long.prompt_bytes, MAX_LOGGED_PROMPT + 10)
})

test('ModelAllowList: names mean :latest without a tag; globs', () => {
  const list = new ModelAllowList(['llama3', 'qwen2.5:*'])
  assert.ok(list.allows('llama3'))
  assert.ok(list.allows('llama3:latest'))
  assert.ok(!list.allows('llama3:70b'))
  assert.ok(list.allows('qwen2.5:7b'))
  assert.ok(list.allows('qwen2.5'))
  assert.ok(!list.allows('qwen2'))
  assert.ok(!list.allows('mistral'))
  assert.ok(new ModelAllowList([]).empty)
})

test("ResponseTail: the final line's numbers, across any chunk boundaries; a huge last line loses them, not memory", () => {
  const lines = `${JSON.stringify({message: {content: 'a'}, done: false})}\n${JSON.stringify({done: true, done_reason: 'length', prompt_eval_count: 12, eval_count: 34})}\n`
  const bytes = Buffer.from(lines)
  for (const size of [1, 3, 7, bytes.length]) {
    const tail = new ResponseTail()
    for (let at = 0; at < bytes.length; at += size) tail.push(bytes.subarray(at, at + size))
    assert.deepEqual(tail.facts(), {prompt_eval_count: 12, eval_count: 34, done_reason: 'length'}, `chunks of ${size}`)
  }
  const single = new ResponseTail()
  single.push(Buffer.from('{"done":true,"eval_count":3}'))
  assert.deepEqual(single.facts(), {eval_count: 3})
  const error = new ResponseTail()
  error.push(Buffer.from('{"done":false}\n{"error":"runner crashed"}\n'))
  assert.deepEqual(error.facts(), {upstream_error: 'runner crashed'})
  const huge = new ResponseTail()
  huge.push(Buffer.from('{"eval_count":1}\n'))
  for (let i = 0; i < 3; i++) huge.push(Buffer.alloc(512 * 1024, 0x61))
  assert.deepEqual(huge.facts(), {})
  const text = new ResponseTail()
  text.push(Buffer.from('404 page not found'))
  assert.deepEqual(text.facts(), {})
})

test('parseListen, parseUpstream, listValues', () => {
  assert.deepEqual(parseListen('127.0.0.1:11435'), {host: '127.0.0.1', port: 11435})
  assert.deepEqual(parseListen('[::1]:0'), {host: '::1', port: 0})
  assert.deepEqual(parseListen('localhost:8080'), {host: 'localhost', port: 8080})
  for (const bad of ['11435', '127.0.0.1', '127.0.0.1:99999', '[nope]:1', '::1:80', 'a b:1'])
    assert.throws(() => parseListen(bad), /--listen/)
  assert.equal(parseUpstream('http://127.0.0.1:11434').href, 'http://127.0.0.1:11434/')
  assert.equal(parseUpstream('gpu-box').href, 'http://gpu-box:11434/')
  assert.equal(parseUpstream('gpu-box:9000').href, 'http://gpu-box:9000/')
  assert.equal(parseUpstream('https://ollama.example/prefix/').href, 'https://ollama.example/prefix/')
  for (const bad of ['ftp://x', 'http://user:pw@x', 'http://x/?q=1', 'http://[bad']) assert.throws(() => parseUpstream(bad), /--upstream/)
  assert.deepEqual(listValues(['a,b', ' c ', ',']), ['a', 'b', 'c'])
})

test('endToEnd: hop-by-hop headers and those Connection names are not passed on', () => {
  assert.deepEqual(
    endToEnd(
      {
        connection: 'keep-alive, x-secret',
        'keep-alive': 'timeout=5',
        'x-secret': '1',
        'transfer-encoding': 'chunked',
        'content-type': 'application/json',
        authorization: 'Bearer t',
      },
      new Set(['authorization']),
    ),
    {'content-type': 'application/json'},
  )
})

test('EventBuffer: reservations bound what waits for the disk; refusals are counted; flush waits for every write', async () => {
  const dir = join(tempDir(), 'logs')
  const writer = await AuditWriter.open(dir)
  const failures: string[] = []
  const buffer = new EventBuffer(writerSink(writer), 7, (message) => failures.push(message))
  const a = buffer.reserve(3)!
  const b = buffer.reserve(3)!
  assert.equal(buffer.reserve(3), undefined)
  assert.equal(buffer.pending, 6)
  a.write({event: 'api.request', details: {n: 1}})
  a.release()
  assert.equal(buffer.pending, 4)
  assert.ok(buffer.reserve(3))
  assert.equal(buffer.reserve(1), undefined)
  assert.equal(buffer.takeRefused(), 2)
  assert.equal(buffer.takeRefused(), 0)
  b.write({event: 'api.request', details: {n: 2}})
  b.write({event: 'bad event name', details: {}})
  await buffer.flush()
  assert.equal(buffer.failures, 1)
  assert.match(failures[0], /bad event name/)
  await writer.close()
  const lines = readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n'))
  assert.deepEqual(
    lines.map((l) => JSON.parse(l).details.n),
    [1, 2],
  )
})

test('EventBuffer: input is checked before it is queued: a bad event is reported at once with its input, its slot freed, and never reaches the sink', async () => {
  const received: WriteInput[] = []
  const sink: EventSink = {
    async write(events) {
      received.push(...events)
      return events.map(() => null)
    },
    async close() {},
  }
  const failures: Array<[string, WriteInput]> = []
  const buffer = new EventBuffer(sink, 4, (message, input) => failures.push([message, input]))
  const r = buffer.reserve(4)!
  let deep: Record<string, unknown> = {}
  for (let i = 0; i < 100; i++) deep = {deep}
  const bad: WriteInput[] = [
    {event: 'Bad Name', details: {request_id: 'r-1'}},
    {event: 'api.request', level: 'loud', details: {request_id: 'r-2'}},
    {event: 'api.request', details: {request_id: 'r-3', deep}},
  ]
  for (const input of bad) r.write(input)
  // Reported now, before any hand-over to the sink.
  assert.deepEqual(
    failures.map(([, input]) => input),
    bad,
  )
  assert.match(failures[0][0], /event "Bad Name"/)
  assert.match(failures[1][0], /level "loud"/)
  assert.match(failures[2][0], /details/)
  assert.equal(buffer.failures, 3)
  assert.equal(buffer.pending, 1, 'the bad events hold no slot; the one left is still reserved')
  r.write({event: 'api.request', level: 'WARNING', details: {request_id: 'r-4'}})
  r.release()
  await buffer.flush()
  assert.equal(buffer.pending, 0)
  assert.deepEqual(received, [{event: 'api.request', level: 'warning', actor: undefined, details: {request_id: 'r-4'}}])
})

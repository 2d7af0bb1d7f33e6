import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, test} from 'node:test'

import {type FakeOllama, startFakeOllama} from '../fakes/ollama.js'
import {tempDir} from '../helpers.js'
import {call, eventsOf, rawLog, readLog, startProxy, waitFor} from './proxy-support.js'

let fake: FakeOllama

before(async () => {
  fake = await startFakeOllama({models: [{name: 'llama3.1:8b'}, {name: 'qwen2.5:7b'}, {name: 'mistral:latest'}]})
})

after(async () => {
  await fake?.close()
})

const ALICE = 'alice-token-0123456789abcdef'
const BOB = 'bob-token-fedcba9876543210'
const chat = (model = 'llama3.1:8b') => JSON.stringify({model, messages: [{role: 'user', content: 'hi'}], stream: false})

test('--tokens: a named token passes (auth.token.use, its name as actor), a missing or wrong one gets 401 (auth.fail); tokens never logged or forwarded', async () => {
  const tokens = join(tempDir('tokens-'), 'proxy.tokens')
  writeFileSync(tokens, `# name token\nalice ${ALICE}\n\nbob   ${BOB}\n`, {mode: 0o600})
  const proxy = await startProxy(fake.url, ['--tokens', tokens])
  try {
    const ok = await call(proxy.url, '/api/chat', {body: chat(), headers: {Authorization: `Bearer ${ALICE}`, 'X-Request-ID': 't-ok'}})
    assert.equal(ok.status, 200)
    assert.equal(fake.requests.at(-1)!.headers.authorization, undefined)

    const missing = await call(proxy.url, '/api/chat', {body: chat(), headers: {'X-Request-ID': 't-missing'}})
    const wrong = await call(proxy.url, '/api/chat', {
      body: chat(),
      headers: {Authorization: `Bearer ${ALICE.slice(0, -1)}x`, 'X-Request-ID': 't-wrong'},
    })
    const basic = await call(proxy.url, '/api/tags', {headers: {Authorization: 'Basic YWxpY2U6eA==', 'X-Request-ID': 't-basic'}})
    for (const reply of [missing, wrong, basic]) {
      assert.equal(reply.status, 401)
      assert.equal(reply.headers['www-authenticate'], 'Bearer realm="audit proxy"')
      assert.match(JSON.parse(reply.body.toString()).error, /bearer token/)
    }
    const [use, request, response] = await waitFor(() => eventsOf(proxy.dir, 't-ok').length === 3 && eventsOf(proxy.dir, 't-ok'), 'events')
    assert.deepEqual([use.event, use.actor, use.details.token], ['auth.token.use', 'alice', 'alice'])
    assert.deepEqual([request.event, request.actor, response.event, response.actor], ['api.request', 'alice', 'api.response', 'alice'])
    for (const [id, reason] of [
      ['t-missing', 'missing'],
      ['t-wrong', 'unknown'],
      ['t-basic', 'malformed'],
    ]) {
      const events = await waitFor(() => eventsOf(proxy.dir, id).length === 1 && eventsOf(proxy.dir, id), `auth.fail of ${id}`)
      assert.deepEqual(
        [events[0].event, events[0].level, events[0].details.reason, events[0].details.status],
        ['auth.fail', 'warning', reason, 401],
      )
    }
    // Refused requests never reach Ollama.
    assert.equal(fake.requests.filter((r) => ['t-missing', 't-wrong', 't-basic'].includes(String(r.headers['x-request-id']))).length, 0)
    const all = rawLog(proxy.dir) + proxy.stdout() + proxy.stderr()
    assert.ok(!all.includes(ALICE) && !all.includes(BOB) && !all.includes(ALICE.slice(0, -1)))
  } finally {
    assert.equal(await proxy.stop(), 0)
  }
})

test('SIGHUP reloads the token file; a broken file keeps the tokens in force and is recorded', async () => {
  const tokens = join(tempDir('tokens-'), 'proxy.tokens')
  writeFileSync(tokens, `alice ${ALICE}\n`, {mode: 0o600})
  const proxy = await startProxy(fake.url, ['--tokens', tokens])
  try {
    assert.equal((await call(proxy.url, '/api/tags', {headers: {Authorization: `Bearer ${BOB}`}})).status, 401)
    writeFileSync(tokens, `bob ${BOB}\n`)
    proxy.child.kill('SIGHUP')
    await waitFor(() => readLog(proxy.dir).some((e) => e.event === 'proxy.tokens.reload'), 'proxy.tokens.reload')
    assert.equal((await call(proxy.url, '/api/tags', {headers: {Authorization: `Bearer ${BOB}`}})).status, 200)
    assert.equal((await call(proxy.url, '/api/tags', {headers: {Authorization: `Bearer ${ALICE}`}})).status, 401)

    // A bad line: the file is refused whole, bob stays valid; the message names file:line, not the token.
    writeFileSync(tokens, `carol ${ALICE}\nbroken-line-with-a-secret-${ALICE}\n`)
    proxy.child.kill('SIGHUP')
    const error = await waitFor(() => readLog(proxy.dir).find((e) => e.event === 'proxy.error'), 'proxy.error')
    assert.match(error.details.message, new RegExp(`${tokens.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:2: expected "NAME TOKEN"`))
    assert.equal((await call(proxy.url, '/api/tags', {headers: {Authorization: `Bearer ${BOB}`}})).status, 200)
    // The warning goes down another pipe than the event: seeing one does not mean the other was read.
    await waitFor(() => /tokens not reloaded/.test(proxy.stderr()), 'the warning on stderr')
    assert.ok(!(rawLog(proxy.dir) + proxy.stderr()).includes(ALICE))
  } finally {
    assert.equal(await proxy.stop(), 0)
  }
})

test('--rate-limit: over the limit a client gets 429 with Retry-After and a warning event; other clients are not affected', async () => {
  const proxy = await startProxy(fake.url, ['--rate-limit', '3/m', '--trust-proxy', '127.0.0.1'])
  try {
    const statuses: number[] = []
    for (let i = 0; i < 5; i++)
      statuses.push((await call(proxy.url, '/api/tags', {headers: {'X-Forwarded-For': '198.51.100.1', 'X-Request-ID': `rl-${i}`}})).status)
    assert.deepEqual(statuses, [200, 200, 200, 429, 429])
    const limited = await call(proxy.url, '/api/tags', {headers: {'X-Forwarded-For': '198.51.100.1'}})
    assert.ok(Number(limited.headers['retry-after']) >= 1)
    assert.match(JSON.parse(limited.body.toString()).error, /rate limit 3\/m exceeded/)
    assert.equal((await call(proxy.url, '/api/tags', {headers: {'X-Forwarded-For': '198.51.100.2'}})).status, 200)
    const [event] = await waitFor(() => eventsOf(proxy.dir, 'rl-3').length === 1 && eventsOf(proxy.dir, 'rl-3'), 'the 429 event')
    assert.deepEqual(
      [event.event, event.level, event.actor, event.details.status, event.details.rate_limit],
      ['api.rate_limit.exceeded', 'warning', '198.51.100.1', 429, '3/m'],
    )
  } finally {
    assert.equal(await proxy.stop(), 0)
  }
})

test('--allow-models: other models get 403 and a warning event, never reaching Ollama; a bare name means :latest', async () => {
  const proxy = await startProxy(fake.url, ['--allow-models', 'llama3.1:*,mistral'])
  try {
    const before = fake.requests.length
    assert.equal((await call(proxy.url, '/api/chat', {body: chat('llama3.1:8b')})).status, 200)
    assert.equal((await call(proxy.url, '/api/chat', {body: chat('mistral')})).status, 200)
    const denied = await call(proxy.url, '/api/chat', {body: chat('qwen2.5:7b'), headers: {'X-Request-ID': 'deny-1'}})
    assert.equal(denied.status, 403)
    assert.equal(JSON.parse(denied.body.toString()).error, "model 'qwen2.5:7b' is not allowed through this proxy")
    // Pulling or showing a model counts too; listing models names none.
    assert.equal((await call(proxy.url, '/api/show', {body: '{"name":"qwen2.5:7b"}'})).status, 403)
    assert.equal((await call(proxy.url, '/api/tags')).status, 200)
    assert.equal(fake.requests.length - before, 3)
    assert.ok(!fake.requests.some((r) => r.body?.model === 'qwen2.5:7b' || r.body?.name === 'qwen2.5:7b'))
    const [event] = await waitFor(() => eventsOf(proxy.dir, 'deny-1').length === 1 && eventsOf(proxy.dir, 'deny-1'), 'the 403 event')
    assert.deepEqual(
      [event.event, event.level, event.details.model, event.details.status],
      ['api.model.denied', 'warning', 'qwen2.5:7b', 403],
    )
  } finally {
    assert.equal(await proxy.stop(), 0)
  }
})

test('--forward: every event also goes to a syslog server (RFC 5424 over UDP), after it is in the file', async () => {
  const {createSocket} = await import('node:dgram')
  const server = createSocket('udp4')
  const received: string[] = []
  server.on('message', (message) => received.push(message.toString('utf8')))
  await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve))
  // Closed whatever happens: a proxy that failed to start left it open, and the file never ended.
  try {
    const proxy = await startProxy(fake.url, ['--forward', `udp://127.0.0.1:${server.address().port}`, '--facility', 'local3'])
    try {
      assert.equal((await call(proxy.url, '/api/chat', {body: chat(), headers: {'X-Request-ID': 'fw-1'}})).status, 200)
      await waitFor(() => received.some((m) => / api\.response /.test(m) && m.includes('fw-1')), 'api.response over syslog')
      const request = received.find((m) => / api\.request /.test(m) && m.includes('fw-1'))!
      // local3 (19) × 8 + info (6) = 158.
      assert.match(request, /^<158>1 /)
      assert.ok(received.some((m) => / proxy\.start /.test(m)))
      assert.ok(eventsOf(proxy.dir, 'fw-1').length === 2)
    } finally {
      assert.equal(await proxy.stop(), 0)
    }
  } finally {
    server.close()
  }
})

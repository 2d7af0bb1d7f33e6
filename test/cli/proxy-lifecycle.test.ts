import assert from 'node:assert/strict'
import {rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, test} from 'node:test'

import {type FakeOllama, startFakeOllama} from '../fakes/ollama.js'
import {runAudit} from '../helpers.js'
import {call, readLog, startProxy, waitFor} from './proxy-support.js'

let fake: FakeOllama

before(async () => {
  fake = await startFakeOllama()
})

after(async () => {
  await fake?.close()
})

const stream = (n: number) => JSON.stringify({model: 'llama3.1:8b', messages: [{role: 'user', content: `question ${n}`}]})

test('200 concurrent streaming clients: 400 events, one request and one response each, chain valid', async () => {
  const proxy = await startProxy(fake.url)
  try {
    fake.defaultScript = {reply: 'a streamed answer in several chunks', chunkSize: 4}
    const replies = await Promise.all(
      Array.from({length: 200}, (_, i) => call(proxy.url, '/api/chat', {body: stream(i), headers: {'X-Request-ID': `c-${i}`}})),
    )
    assert.ok(replies.every((r) => r.status === 200 && r.body.toString().includes('"done":true')))
    const events = await waitFor(() => {
      const api = readLog(proxy.dir).filter((e) => e.event.startsWith('api.'))
      return api.length >= 400 && api
    }, '400 api events')
    assert.equal(events.length, 400)
    for (let i = 0; i < 200; i++) {
      const mine = events.filter((e) => e.details.request_id === `c-${i}`).map((e) => e.event)
      assert.deepEqual(mine, ['api.request', 'api.response'], `c-${i}`)
    }
  } finally {
    fake.defaultScript = {}
    assert.equal(await proxy.stop(), 0)
  }
  const verified = await runAudit(['verify', '--dir', proxy.dir])
  assert.equal(verified.code, 0, verified.stdout + verified.stderr)
  assert.match(verified.stdout, /402 entries checked/)
  const stop = readLog(proxy.dir).at(-1)!
  assert.deepEqual([stop.event, stop.details.requests, stop.details.events_failed], ['proxy.stop', 200, 0])
})

test('SIGTERM mid-request: no new connections, the request in flight finishes, every event written, exit 0', async () => {
  const proxy = await startProxy(fake.url, ['--shutdown-grace', '20'])
  // Ollama holds the rest of its answer until the late client was refused: a fixed delay could run
  // out first on a loaded machine, and the request was then no longer in flight at SIGTERM.
  let open!: () => void
  fake.script({reply: 'slow but complete', gate: new Promise<void>((resolve) => (open = resolve))})
  const pending = call(proxy.url, '/api/generate', {
    body: JSON.stringify({model: 'llama3.1:8b', prompt: 'slow'}),
    headers: {'X-Request-ID': 'term-1'},
  })
  await waitFor(() => fake.requests.some((r) => r.headers['x-request-id'] === 'term-1'), 'the request upstream')
  proxy.child.kill('SIGTERM')
  // Listening stops at once: a new client is refused while the old one is still served.
  await waitFor(() => /SIGTERM: not accepting connections/.test(proxy.stdout()), 'the stopping line')
  const late = await call(proxy.url, '/api/tags').then(
    (r) => r.status,
    (e: NodeJS.ErrnoException) => e.code,
  )
  assert.equal(late, 'ECONNREFUSED')
  open()
  const reply = await pending
  assert.equal(reply.status, 200)
  assert.ok(reply.body.toString().includes('"done":true'))
  assert.equal(await proxy.exited, 0)
  const log = readLog(proxy.dir)
  assert.deepEqual(
    log.filter((e) => e.details.request_id === 'term-1').map((e) => e.event),
    ['api.request', 'api.response'],
  )
  const stop = log.at(-1)!
  assert.deepEqual([stop.event, stop.details.reason, stop.details.in_flight, stop.details.cut_short], ['proxy.stop', 'SIGTERM', 1, 0])
})

test('SIGTERM with a request that outlives --shutdown-grace: it is cut (api.error shutdown), the proxy still exits 0', async () => {
  const proxy = await startProxy(fake.url, ['--shutdown-grace', '1'])
  fake.script({hang: true})
  const pending = call(proxy.url, '/api/chat', {body: stream(1), headers: {'X-Request-ID': 'term-2'}})
  await waitFor(() => fake.requests.some((r) => r.headers['x-request-id'] === 'term-2'), 'the request upstream')
  proxy.child.kill('SIGTERM')
  const reply = await pending
  assert.equal(reply.status, 503)
  assert.equal(await proxy.exited, 0)
  const log = readLog(proxy.dir)
  const error = log.find((e) => e.event === 'api.error')!
  assert.deepEqual([error.details.request_id, error.details.kind, error.details.status], ['term-2', 'shutdown', 503])
  assert.deepEqual([log.at(-1)!.event, log.at(-1)!.details.cut_short], ['proxy.stop', 1])
})

test('a stalled disk (the log lock held elsewhere): streams still flow; when the event buffer is full new requests get 503; nothing is lost', async () => {
  const proxy = await startProxy(fake.url, ['--event-buffer', '16'])
  const lock = join(proxy.dir, '.audit.lock')
  try {
    await waitFor(() => readLog(proxy.dir).some((e) => e.event === 'proxy.start'), 'proxy.start')
    // Another writer holds the directory lock (an empty lock file counts as held for a minute).
    writeFileSync(lock, '')
    // Nothing reaches the disk now. Each answered request leaves 2 events waiting and holds 3 while it runs:
    // requests pass, whole and unhindered, until 3 more no longer fit in 16.
    const statuses: number[] = []
    for (let i = 0; i < 10 && statuses.at(-1) !== 503; i++) {
      const reply = await call(proxy.url, '/api/chat', {body: stream(i), headers: {'X-Request-ID': `bp-${i}`}})
      statuses.push(reply.status)
      if (reply.status === 200) assert.ok(reply.body.toString().includes('"done":true'))
      else {
        assert.equal(reply.headers['retry-after'], '1')
        assert.match(JSON.parse(reply.body.toString()).error, /audit log is behind/)
      }
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 200, 503])
    assert.equal(readLog(proxy.dir).filter((e) => e.event.startsWith('api.')).length, 0)
    assert.ok(!fake.requests.some((r) => r.headers['x-request-id'] === 'bp-7'))

    rmSync(lock)
    const log = await waitFor(() => {
      const entries = readLog(proxy.dir)
      return entries.some((e) => e.event === 'proxy.backpressure') && entries
    }, 'proxy.backpressure')
    for (let i = 0; i < 7; i++)
      assert.deepEqual(
        log.filter((e) => e.details.request_id === `bp-${i}`).map((e) => e.event),
        ['api.request', 'api.response'],
      )
    const note = log.find((e) => e.event === 'proxy.backpressure')!
    assert.deepEqual([note.level, note.details.refused, note.details.capacity], ['warning', 1, 16])
    // Room again: requests pass.
    assert.equal((await call(proxy.url, '/api/tags')).status, 200)
  } finally {
    rmSync(lock, {force: true})
    assert.equal(await proxy.stop(), 0)
  }
  const verified = await runAudit(['verify', '--dir', proxy.dir])
  assert.equal(verified.code, 0, verified.stdout + verified.stderr)
})

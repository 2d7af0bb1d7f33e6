import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {after, before, test} from 'node:test'

import {type FakeOllama, startFakeOllama} from '../fakes/ollama.js'
import {inParallel, runAudit} from '../helpers.js'
import {call, eventsOf, maskTimes, rawLog, readLog, type RunningProxy, startProxy, waitFor} from './proxy-support.js'

let fake: FakeOllama
let proxy: RunningProxy

before(async () => {
  fake = await startFakeOllama()
  proxy = await startProxy(fake.url)
})

after(async () => {
  await proxy?.stop()
  await fake?.close()
})

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

const CASES = [
  {
    name: 'chat, streamed',
    path: '/api/chat',
    body: {
      model: 'llama3.1:8b',
      messages: [
        {role: 'system', content: 'be brief'},
        {role: 'user', content: 'why is the sky blue?'},
      ],
    },
    prompt: 'be brief\nwhy is the sky blue?',
  },
  {
    name: 'chat, not streamed',
    path: '/api/chat',
    body: {model: 'llama3.1:8b', messages: [{role: 'user', content: 'héllo'}], stream: false},
    prompt: 'héllo',
  },
  {name: 'generate, streamed', path: '/api/generate', body: {model: 'llama3.1:8b', prompt: 'count to three'}, prompt: 'count to three'},
  {
    name: 'generate, not streamed',
    path: '/api/generate',
    body: {model: 'llama3.1:8b', prompt: 'count to three', stream: false},
    prompt: 'count to three',
  },
]

for (const c of CASES) {
  test(`${c.name}: the answer through the proxy is byte for byte the direct one, and recorded`, async () => {
    const reply = 'The sky is blue because of Rayleigh scattering of sunlight.'
    fake.script({reply}, {reply})
    const body = JSON.stringify(c.body)
    const direct = await call(fake.url, c.path, {body})
    const proxied = await call(proxy.url, c.path, {body, headers: {'X-Request-ID': `case-${c.path}-${c.body.stream}`}})
    assert.equal(proxied.status, 200)
    assert.equal(proxied.headers['content-type'], direct.headers['content-type'])
    // Only the timestamps Ollama stamps on each answer differ between two answers.
    assert.ok(maskTimes(proxied.body).equals(maskTimes(direct.body)))
    assert.ok(proxied.body.includes(c.body.stream === false ? reply : '"done":true'))
    if (c.body.stream !== false) assert.ok(proxied.body.toString().trim().split('\n').length > 3, 'streamed in several chunks')
    assert.equal(proxied.headers['x-request-id'], `case-${c.path}-${c.body.stream}`)
    // The id and the body reached Ollama as sent.
    const upstream = fake.requests.at(-1)!
    assert.equal(upstream.headers['x-request-id'], `case-${c.path}-${c.body.stream}`)
    assert.equal(upstream.raw, body)

    const events = await waitFor(() => {
      const e = eventsOf(proxy.dir, `case-${c.path}-${c.body.stream}`)
      return e.length === 2 && e
    }, 'api.request and api.response')
    const [request, response] = events
    assert.equal(request.event, 'api.request')
    assert.equal(request.actor, '127.0.0.1')
    assert.deepEqual(
      {...request.details, user_agent: undefined},
      {
        request_id: `case-${c.path}-${c.body.stream}`,
        method: 'POST',
        path: c.path,
        ip: '127.0.0.1',
        user_agent: undefined,
        model: 'llama3.1:8b',
        prompt_bytes: Buffer.byteLength(c.prompt),
        prompt_sha256: sha256(c.prompt),
        ...(c.body.stream === false ? {stream: false} : {}),
      },
    )
    assert.equal(response.event, 'api.response')
    assert.equal(response.level, 'info')
    const final = JSON.parse(proxied.body.toString().trim().split('\n').at(-1)!)
    assert.equal(response.details.status, 200)
    assert.equal(response.details.done_reason, 'stop')
    assert.equal(response.details.eval_count, final.eval_count)
    assert.equal(response.details.prompt_eval_count, final.prompt_eval_count)
    assert.equal(response.details.bytes, proxied.body.length)
    assert.equal(response.details.model, 'llama3.1:8b')
    assert.ok(response.details.duration_ms >= response.details.ttfb_ms && response.details.ttfb_ms > 0)
    // The prompt itself is never written without --log-prompts.
    assert.ok(!rawLog(proxy.dir).includes(c.body.stream === false ? 'héllo' : c.prompt.split('\n').at(-1)!))
  })
}

test('a stream is passed on chunk by chunk: the client has the first chunk before Ollama sends the second', {timeout: 30_000}, async () => {
  let open!: () => void
  fake.script({
    reply: 'first chunk, then the rest only once the client has it',
    gate: new Promise<void>((resolve) => {
      open = resolve
    }),
  })
  const {request} = await import('node:http')
  const body = JSON.stringify({model: 'llama3.1:8b', messages: [{role: 'user', content: 'stream'}]})
  const chunks = await new Promise<string[]>((resolve, reject) => {
    const req = request(`${proxy.url}/api/chat`, {method: 'POST', headers: {'Content-Length': Buffer.byteLength(body)}}, (res) => {
      const seen: string[] = []
      res.setEncoding('utf8').on('data', (d: string) => {
        // A proxy that buffered would never get here: Ollama holds the rest until this first chunk arrives.
        if (seen.length === 0) open()
        seen.push(d)
      })
      res.on('end', () => resolve(seen))
    })
    req.on('error', reject)
    req.end(body)
  })
  assert.equal(JSON.parse(chunks[0].split('\n')[0]).message.content, 'first ch')
  assert.ok(chunks.join('').includes('"done":true'))
})

test('every other route passes through: status, content type and body as Ollama sent them', async () => {
  for (const [method, path, body] of [
    ['GET', '/', undefined],
    ['HEAD', '/api/version', undefined],
    ['GET', '/api/tags', undefined],
    ['POST', '/api/show', '{"model":"nope"}'],
    ['GET', '/api/nothing', undefined],
    ['GET', '/api/chat', undefined],
    ['POST', '/api/chat', '{"model":'],
  ] as const) {
    const direct = await call(fake.url, path, {method, body})
    const proxied = await call(proxy.url, path, {method, body})
    assert.equal(proxied.status, direct.status, `${method} ${path}`)
    assert.equal(proxied.headers['content-type'], direct.headers['content-type'], `${method} ${path}`)
    assert.ok(maskTimes(proxied.body).equals(maskTimes(direct.body)), `${method} ${path}`)
  }
  const id = 'not-found-check'
  await call(proxy.url, '/api/show', {body: '{"model":"nope"}', headers: {'X-Request-ID': id}})
  const [, response] = await waitFor(() => eventsOf(proxy.dir, id).length === 2 && eventsOf(proxy.dir, id), 'events')
  assert.equal(response.details.status, 404)
  assert.equal(response.level, 'warning')
  assert.equal(response.details.upstream_error, "model 'nope:latest' not found")
})

test('an Ollama error inside a stream is recorded; a hostile request id is replaced by a fresh one', async () => {
  fake.script({reply: 'partial answer here', midStreamError: 'runner crashed'})
  const proxied = await call(proxy.url, '/api/chat', {
    body: JSON.stringify({model: 'llama3.1:8b', messages: [{role: 'user', content: 'x'}]}),
    headers: {'X-Request-ID': 'evil id; rm -rf /'},
  })
  assert.equal(proxied.status, 200)
  const id = proxied.headers['x-request-id'] as string
  assert.match(id, /^[0-9a-f-]{36}$/)
  assert.equal(fake.requests.at(-1)!.headers['x-request-id'], id)
  const [, response] = await waitFor(() => eventsOf(proxy.dir, id).length === 2 && eventsOf(proxy.dir, id), 'events')
  assert.equal(response.details.upstream_error, 'runner crashed')
  assert.equal(response.level, 'warning')
})

test('Ollama closing mid-stream: the client gets the cut stream, api.error upstream_reset', async () => {
  fake.script({reply: 'a long answer that will be cut', closeMidStream: true})
  const id = 'reset-1'
  const proxied = await call(proxy.url, '/api/chat', {
    body: JSON.stringify({model: 'llama3.1:8b', messages: [{role: 'user', content: 'x'}]}),
    headers: {'X-Request-ID': id},
  }).catch((error: Error) => error)
  // Either the cut body or a reset: never a made-up complete answer.
  if (!(proxied instanceof Error)) assert.ok(!proxied.body.toString().includes('"done":true'))
  const [request, error] = await waitFor(() => eventsOf(proxy.dir, id).length === 2 && eventsOf(proxy.dir, id), 'events')
  assert.equal(request.event, 'api.request')
  assert.equal(error.event, 'api.error')
  assert.equal(error.details.kind, 'upstream_reset')
  assert.equal(error.level, 'error')
})

test("a client that goes away mid-request: api.error client_gone, and Ollama's request is cancelled", async () => {
  fake.script({hang: true})
  const id = 'gone-1'
  const controller = new AbortController()
  const pending = call(proxy.url, '/api/generate', {
    body: JSON.stringify({model: 'llama3.1:8b', prompt: 'wait'}),
    headers: {'X-Request-ID': id},
    signal: controller.signal,
  }).catch((e: Error) => e)
  await waitFor(() => fake.requests.some((r) => r.headers['x-request-id'] === id), 'the request upstream')
  controller.abort()
  assert.ok((await pending) instanceof Error)
  const [, error] = await waitFor(() => eventsOf(proxy.dir, id).length === 2 && eventsOf(proxy.dir, id), 'events')
  assert.equal(error.event, 'api.error')
  assert.equal(error.details.kind, 'client_gone')
  assert.equal(error.level, 'warning')
})

test('a request body over --max-body: 413, recorded, never forwarded', async () => {
  const small = await startProxy(fake.url, ['--max-body', '1'])
  try {
    const before = fake.requests.length
    const big = JSON.stringify({model: 'llama3.1:8b', prompt: 'x'.repeat(2 * 1024 * 1024)})
    const reply = await call(small.url, '/api/generate', {body: big, headers: {'X-Request-ID': 'big-1'}}).catch((e: Error) => e)
    assert.ok(!(reply instanceof Error), String(reply))
    assert.equal(reply.status, 413)
    assert.match(JSON.parse(reply.body.toString()).error, /limit of 1048576 bytes/)
    // Sent without a length (chunked): cut off as it is read.
    const chunked = await new Promise<number>((resolve, reject) => {
      import('node:http').then(({request}) => {
        const req = request(
          `${small.url}/api/generate`,
          {method: 'POST', headers: {'Transfer-Encoding': 'chunked', 'X-Request-ID': 'big-2'}},
          (res) => {
            res.resume()
            resolve(res.statusCode ?? 0)
          },
        )
        req.on('error', reject)
        for (let i = 0; i < 3; i++) req.write('x'.repeat(512 * 1024))
        req.end()
      }, reject)
    })
    assert.equal(chunked, 413)
    assert.equal(fake.requests.length, before)
    const events = await waitFor(
      () => readLog(small.dir).filter((e) => e.event === 'api.body.too_large').length === 2 && readLog(small.dir),
      'events',
    )
    assert.ok(events.every((e) => e.event !== 'api.request'))
    assert.equal(events.find((e) => e.event === 'api.body.too_large')!.details.status, 413)
  } finally {
    assert.equal(await small.stop(), 0)
  }
})

test('a refused body still arriving is read and dropped, so the client reads the 413; one that never ends is cut off', async () => {
  const small = await startProxy(fake.url, ['--max-body', '1'])
  try {
    const {connect} = await import('node:net')
    const port = Number(new URL(small.url).port)
    const open = () =>
      new Promise<import('node:net').Socket>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => resolve(socket)).on('error', reject)
      })
    const head = (length: number) =>
      `POST /api/generate HTTP/1.1\r\nHost: x\r\nContent-Length: ${length}\r\nContent-Type: application/json\r\n\r\n`
    // Half the body, a pause long enough for the answer to be sent, then the rest: before, the
    // proxy closed with the rest unread, and this second write failed (EPIPE or a reset).
    const slow = await open()
    let answer = ''
    slow.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')))
    const errors: Error[] = []
    slow.on('error', (error) => errors.push(error))
    const half = 1536 * 1024
    slow.write(head(2 * half))
    slow.write(Buffer.alloc(half, 0x78))
    await waitFor(() => answer.includes('\r\n\r\n'), 'the 413 before the body ends')
    await new Promise((resolve) => setTimeout(resolve, 200))
    await new Promise<void>((resolve, reject) => slow.write(Buffer.alloc(half, 0x78), (error) => (error ? reject(error) : resolve())))
    assert.match(answer, /^HTTP\/1\.1 413 /)
    // The connection survives the drained body and serves the next request.
    answer = ''
    slow.write('GET /api/version HTTP/1.1\r\nHost: x\r\n\r\n')
    await waitFor(() => /HTTP\/1\.1 200 [\s\S]*"version"/.test(answer), 'the next answer on the same connection')
    assert.deepEqual(errors, [])
    slow.destroy()

    // A body that never ends is read for a bounded time, then the connection is closed.
    const endless = await open()
    const closed = new Promise<number>((resolve) => endless.on('close', () => resolve(performance.now())))
    endless.on('error', () => {})
    endless.resume()
    endless.write(head(1024 * 1024 * 1024))
    const started = performance.now()
    const feeding = setInterval(() => endless.writable && endless.write(Buffer.alloc(64 * 1024, 0x78)), 50)
    try {
      const at = await Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 30_000))])
      assert.notEqual(at, -1, 'the proxy never closed a connection whose body does not end')
      assert.ok(at - started >= 4000, `closed after ${Math.round(at - started)} ms, before the linger time`)
    } finally {
      clearInterval(feeding)
      endless.destroy()
    }
  } finally {
    assert.equal(await small.stop(), 0)
  }
})

test('--log-prompts records the prompt; X-Forwarded-For counts only from a --trust-proxy peer', async () => {
  const trusting = await startProxy(fake.url, ['--log-prompts', '--trust-proxy', '127.0.0.1'])
  try {
    await call(trusting.url, '/api/generate', {
      body: JSON.stringify({model: 'llama3.1:8b', prompt: 'my secret prompt', stream: false}),
      headers: {'X-Request-ID': 'lp-1', 'X-Forwarded-For': '203.0.113.9'},
    })
    await call(proxy.url, '/api/generate', {
      body: JSON.stringify({model: 'llama3.1:8b', prompt: 'other', stream: false}),
      headers: {'X-Request-ID': 'lp-2', 'X-Forwarded-For': '203.0.113.9'},
    })
    const [request] = await waitFor(() => eventsOf(trusting.dir, 'lp-1').length === 2 && eventsOf(trusting.dir, 'lp-1'), 'events')
    assert.equal(request.details.prompt, 'my secret prompt')
    assert.equal(request.details.ip, '203.0.113.9')
    assert.equal(request.actor, '203.0.113.9')
    const [untrusted] = await waitFor(() => eventsOf(proxy.dir, 'lp-2').length === 2 && eventsOf(proxy.dir, 'lp-2'), 'events')
    assert.equal(untrusted.details.ip, '127.0.0.1')
    assert.equal(untrusted.details.prompt, undefined)
  } finally {
    assert.equal(await trusting.stop(), 0)
  }
})

test('Ollama down: 502 with an Ollama-style error body, api.error upstream_unreachable', async () => {
  // A port that was just free: nothing listens there.
  const spare = createServer()
  await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve))
  const port = (spare.address() as AddressInfo).port
  await new Promise<void>((resolve) => spare.close(() => resolve()))
  const down = await startProxy(`http://127.0.0.1:${port}`)
  try {
    const reply = await call(down.url, '/api/chat', {
      body: JSON.stringify({model: 'llama3.1:8b', messages: [{role: 'user', content: 'hi'}]}),
      headers: {'X-Request-ID': 'down-1'},
    })
    assert.equal(reply.status, 502)
    assert.equal(reply.headers['content-type'], 'application/json; charset=utf-8')
    assert.match(JSON.parse(reply.body.toString()).error, /unreachable: ECONNREFUSED/)
    const [request, error] = await waitFor(() => eventsOf(down.dir, 'down-1').length === 2 && eventsOf(down.dir, 'down-1'), 'events')
    assert.equal(request.event, 'api.request')
    assert.deepEqual(
      [error.event, error.level, error.details.kind, error.details.status],
      ['api.error', 'error', 'upstream_unreachable', 502],
    )
  } finally {
    assert.equal(await down.stop(), 0)
  }
})

test('Ollama silent past --timeout: 504 and api.error timeout', async () => {
  const impatient = await startProxy(fake.url, ['--timeout', '1'])
  try {
    fake.script({hang: true})
    const reply = await call(impatient.url, '/api/chat', {
      body: JSON.stringify({model: 'llama3.1:8b', messages: [{role: 'user', content: 'hi'}]}),
      headers: {'X-Request-ID': 'slow-1'},
    })
    assert.equal(reply.status, 504)
    const [, error] = await waitFor(() => eventsOf(impatient.dir, 'slow-1').length === 2 && eventsOf(impatient.dir, 'slow-1'), 'events')
    assert.deepEqual([error.event, error.details.kind, error.details.status], ['api.error', 'timeout', 504])
  } finally {
    assert.equal(await impatient.stop(), 0)
  }
})

test('bad flags: one line naming the flag, exit 2, nothing listens', async () => {
  const listen = ['--listen', '127.0.0.1:0']
  const upstream = ['--upstream', fake.url]
  const cases = [
    [['--listen', 'nowhere', ...upstream], /--listen "nowhere": expected HOST:PORT/],
    [[...listen, '--upstream', 'ftp://x'], /--upstream "ftp:\/\/x": expected an http/],
    [[...listen, ...upstream, '--rate-limit', 'lots'], /--rate-limit "lots": expected REQUESTS\/UNIT/],
    [[...listen, ...upstream, '--trust-proxy', '10.0.0.0/99'], /--trust-proxy "10.0.0.0\/99"/],
    [[...listen, ...upstream, '--tokens', '/nonexistent/tokens'], /--tokens \/nonexistent\/tokens: no such file/],
    [[...listen, ...upstream, '--forward', 'http://siem'], /--forward "http:\/\/siem": expected udp:\/\//],
    [[...listen, ...upstream, '--forward', 'udp://127.0.0.1:9', '--facility', 'nope'], /facility: expected a facility name/],
  ] as const
  // Each is refused before anything listens, so they can run side by side.
  const results = await inParallel(cases, ([args]) => runAudit(['proxy', ...args]))
  for (const [i, [args, pattern]] of cases.entries()) {
    const result = results[i]
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`)
    assert.match(result.stderr, pattern)
    assert.equal(result.stderr.trim().split('\n').length, 1)
  }
  // The log directory is opened (on the writer thread) before anything listens.
  const notDir = await runAudit(['proxy', ...listen, ...upstream, '--dir', '/etc/passwd/logs'])
  assert.equal(notDir.code, 2)
  assert.match(notDir.stderr, /^audit proxy: error: \/etc\/passwd\/logs: not a directory/)
  assert.equal(notDir.stdout, '')
  const taken = await runAudit(['proxy', '--listen', proxy.url.replace('http://', ''), '--upstream', fake.url])
  assert.equal(taken.code, 2)
  assert.match(taken.stderr, /address already in use/)
})

test('hostile request parts: escape sequences and huge values are recorded escaped and cut, never raw', async () => {
  const ua = `\u001b]0;pwned\u0007\u001b[2J${'A'.repeat(5000)}`
  const path = `/api/tags?x=${'%1b'.repeat(2000)}`
  const reply = await call(proxy.url, path, {headers: {'User-Agent': ua.replace(/[\u0000-\u001f]/g, ''), 'X-Request-ID': 'hostile-1'}})
  assert.equal(reply.status, 200)
  // A model name with escape sequences (valid JSON): recorded as it was, escaped in the line.
  await call(proxy.url, '/api/show', {body: JSON.stringify({model: '\u001b[31mred\u0007'}), headers: {'X-Request-ID': 'hostile-3'}})
  const [shown] = await waitFor(() => eventsOf(proxy.dir, 'hostile-3').length === 2 && eventsOf(proxy.dir, 'hostile-3'), 'events')
  assert.equal(shown.details.model, '\u001b[31mred\u0007')
  // Raw control bytes in a header: node's parser refuses the request (400) before anything is forwarded.
  const {connect} = await import('node:net')
  const socket = connect(Number(new URL(proxy.url).port), '127.0.0.1')
  let answer = ''
  socket.setEncoding('latin1').on('data', (d: string) => {
    answer += d
  })
  socket.end(`GET /api/version HTTP/1.1\r\nHost: x\r\nUser-Agent: \u001b[2Jevil\r\nX-Request-ID: hostile-2\r\n\r\n`)
  await new Promise((resolve) => socket.on('close', resolve))
  assert.match(answer, /^HTTP\/1\.1 400 /)
  assert.ok(!fake.requests.some((r) => r.headers['x-request-id'] === 'hostile-2'))
  const [first] = await waitFor(() => eventsOf(proxy.dir, 'hostile-1').length === 2 && eventsOf(proxy.dir, 'hostile-1'), 'events')
  assert.equal(first.details.user_agent.length, 512)
  assert.equal(first.details.path.length, 2048)
  const raw = rawLog(proxy.dir)
  assert.ok(!raw.includes('\u001b'), 'no raw ESC byte in the log')
})

test('the log the proxy wrote verifies', async () => {
  const result = await runAudit(['verify', '--dir', proxy.dir])
  assert.equal(result.code, 0, result.stdout + result.stderr)
  assert.ok(readLog(proxy.dir)[0].event === 'proxy.start')
})

/** The fake Ollama server against the contract's examples, through raw HTTP and through the real `ollama` client. */
import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'

import {Ollama} from 'ollama'

import {type FakeOllama, startFakeOllama} from '../fakes/ollama.js'

let fake: FakeOllama
before(async () => {
  fake = await startFakeOllama({models: [{name: 'llama3.1:8b'}, {name: 'qwen3:4b', capabilities: ['completion', 'thinking']}]})
})
after(() => fake.close())

const post = (path: string, body: string) => fetch(`${fake.url}${path}`, {method: 'POST', body})
const client = () => new Ollama({host: fake.url})

test('health, version, tags, show, unknown path and wrong method', async () => {
  const root = await fetch(fake.url)
  assert.equal(root.status, 200)
  assert.equal(await root.text(), 'Ollama is running')
  assert.match(((await (await fetch(`${fake.url}/api/version`)).json()) as any).version, /^0\.\d+\.\d+$/)
  const tags = (await (await fetch(`${fake.url}/api/tags`)).json()) as any
  assert.deepEqual(
    tags.models.map((m: {name: string}) => m.name),
    ['llama3.1:8b', 'qwen3:4b'],
  )
  assert.equal(tags.models[0].details.format, 'gguf')
  const show = await post('/api/show', '{"model":"llama3.1:8b"}')
  assert.equal(((await show.json()) as any).model_info['llama.context_length'], 131_072)
  const missingShow = await post('/api/show', '{"model":"llama3"}')
  assert.equal(missingShow.status, 404)
  assert.deepEqual(await missingShow.json(), {error: "model 'llama3:latest' not found"})
  const nowhere = await fetch(`${fake.url}/api/nowhere`)
  assert.equal(nowhere.status, 404)
  assert.match(nowhere.headers.get('content-type')!, /^text\/plain/)
  assert.equal(await nowhere.text(), '404 page not found')
  const wrong = await fetch(`${fake.url}/api/chat`)
  assert.equal(wrong.status, 405)
  assert.equal(await wrong.text(), '405 method not allowed')
})

test('request errors: empty body, malformed JSON, no model, unknown model, bad format, bad option, think', async () => {
  const cases: Array<[string, number, string]> = [
    ['', 400, 'missing request body'],
    ['{bad', 400, "invalid character 'b' looking for beginning of object key string"],
    ['{"model":"x"', 400, 'unexpected EOF'],
    [
      '{"model":"llama3.1:8b","messages":"hi"}',
      400,
      'json: cannot unmarshal string into Go struct field ChatRequest.messages of type []api.Message',
    ],
    ['{"messages":[{"role":"user","content":"hi"}]}', 400, 'model is required'],
    ['{"model":"nope:1b","messages":[{"role":"user","content":"hi"}]}', 404, "model 'nope:1b' not found"],
    [
      '{"model":"llama3.1:8b","messages":[{"role":"user","content":"hi"}],"format":"xml"}',
      500,
      'invalid format: "xml"; expected "json" or a valid JSON Schema object',
    ],
    [
      '{"model":"llama3.1:8b","messages":[{"role":"user","content":"hi"}],"options":{"num_ctx":"big"}}',
      500,
      'option "num_ctx" must be of type integer',
    ],
    ['{"model":"llama3.1:8b","messages":[{"role":"user","content":"hi"}],"think":true}', 400, '"llama3.1:8b" does not support thinking'],
  ]
  for (const [body, status, error] of cases) {
    const res = await post('/api/chat', body)
    assert.equal(res.status, status, body)
    assert.match(res.headers.get('content-type')!, /^application\/json/)
    assert.deepEqual(await res.json(), {error}, body)
  }
})

test('stream absent means NDJSON: deltas, then a final object with done_reason and metrics in ns', async () => {
  fake.script({reply: 'hello there, world'})
  const res = await post('/api/chat', '{"model":"llama3.1:8b","messages":[{"role":"user","content":"hi"}]}')
  assert.equal(res.headers.get('content-type'), 'application/x-ndjson')
  const lines = (await res.text()).split('\n')
  assert.equal(lines.pop(), '')
  const objects = lines.map((l) => JSON.parse(l))
  assert.ok(objects.length > 2)
  for (const o of objects.slice(0, -1)) {
    assert.equal(o.done, false)
    assert.equal(o.done_reason, undefined)
    assert.equal(o.eval_count, undefined)
  }
  assert.equal(objects.map((o) => o.message.content).join(''), 'hello there, world')
  const last = objects.at(-1)
  assert.equal(last.done, true)
  assert.equal(last.done_reason, 'stop')
  for (const key of ['total_duration', 'prompt_eval_count', 'prompt_eval_duration', 'eval_count', 'eval_duration'])
    assert.ok(Number.isInteger(last[key]), key)
  assert.equal(last.load_duration, undefined, 'a zero metric is omitted')
  assert.match(last.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/)
})

test('the ollama client, stream:false with a schema: content is JSON text; the request is recorded', async () => {
  fake.script({reply: {findings: []}})
  const before = fake.generations.length
  const response = await client().chat({
    model: 'llama3.1:8b',
    messages: [{role: 'user', content: 'x'.repeat(400)}],
    format: {type: 'object'},
    options: {temperature: 0, seed: 42, num_ctx: 8192},
  })
  assert.deepEqual(JSON.parse(response.message.content), {findings: []})
  assert.equal(response.done_reason, 'stop')
  assert.equal(response.prompt_eval_count, 100)
  const sent = fake.generations[before]
  assert.equal(sent.body.stream, false)
  assert.deepEqual(sent.body.format, {type: 'object'})
  assert.deepEqual(sent.body.options, {temperature: 0, seed: 42, num_ctx: 8192})
  assert.match(String(sent.headers['user-agent']), /^ollama-js\//)
})

test('empty messages load the model; keep_alive 0 unloads it', async () => {
  const load = (await (await post('/api/chat', '{"model":"llama3.1:8b","stream":false}')).json()) as any
  assert.equal(load.done_reason, 'load')
  const unload = (await (await post('/api/chat', '{"model":"llama3.1:8b","stream":false,"keep_alive":0}')).json()) as any
  assert.equal(unload.done_reason, 'unload')
})

test('faults as the client sees them', async () => {
  const ask = (stream: boolean) => {
    const request = {model: 'llama3.1:8b', messages: [{role: 'user', content: 'hi'}]}
    if (!stream) return client().chat({...request, stream: false})
    return (async () => {
      let text = ''
      for await (const part of await client().chat({...request, stream: true})) text += part.message.content
      return text
    })()
  }
  fake.script({status: 503, error: 'server busy, please try again.  maximum pending requests exceeded'})
  await assert.rejects(ask(false), (e: any) => e.name === 'ResponseError' && e.status_code === 503 && /server busy/.test(e.message))
  fake.script({midStreamError: 'an error was encountered while running the model', reply: 'a long enough reply'})
  await assert.rejects(ask(true), /an error was encountered while running the model/)
  fake.script({noDone: true})
  await assert.rejects(ask(true), /Did not receive done or success response in stream/)
  fake.script({error: 'llama runner process has terminated'})
  await assert.rejects(ask(true), (e: any) => e.status_code === 500)
  fake.script({legacyStreamError: 'old style failure'})
  await assert.rejects(ask(true), /old style failure/)
  fake.script({closeMidStream: true})
  await assert.rejects(ask(false), /fetch failed|terminated|socket/)
  fake.script({doneReason: 'length', reply: '{"findings":[{"ti'})
  const cut = await client().chat({model: 'llama3.1:8b', messages: [{role: 'user', content: 'hi'}], format: 'json', stream: false})
  assert.equal(cut.done_reason, 'length')
  assert.throws(() => JSON.parse(cut.message.content))
  fake.script({promptEvalCount: 3})
  assert.equal(
    (await client().chat({model: 'llama3.1:8b', messages: [{role: 'user', content: 'y'.repeat(4000)}], stream: false})).prompt_eval_count,
    3,
  )
})

test('a delayed reply holds the headers back; a custom fetch with a timeout gives up', async () => {
  fake.script({delayMs: 2000})
  const impatient = new Ollama({host: fake.url, fetch: (url, init) => fetch(url, {...init, signal: AbortSignal.timeout(200)})})
  await assert.rejects(
    impatient.chat({model: 'llama3.1:8b', messages: [{role: 'user', content: 'hi'}]}),
    (e: Error) => e.name === 'TimeoutError',
  )
})

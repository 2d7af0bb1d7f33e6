/**
 * A fake Ollama server on node:http (127.0.0.1, a free port) that follows the wire contract in
 * /work/shared/specs/ollama-contract.md: the routes, NDJSON streaming, `{"error"}` bodies and their
 * statuses, `done_reason`, the metrics in integer nanoseconds (omitted when zero). Each test
 * scripts the replies to /api/chat and /api/generate (a queue, then a default) and reads what the
 * server received in `requests`.
 */
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo, Socket} from 'node:net'

/** How the next /api/chat or /api/generate request is answered. Everything is optional. */
export interface OllamaScript {
  /** The generated text; an object is sent as its JSON text (what `format` produces). Default `{}` with a format, else `ok`. */
  reply?: string | object
  /** Milliseconds before the response headers go out (a model loading). */
  delayMs?: number
  /** Never answer (until the client gives up or the server closes). */
  hang?: boolean
  /** Answer with this status and `{"error": error}` (e.g. 503 busy, 500 runner failure). */
  status?: number
  error?: string
  /** Streaming only: send this `{"error"}` line after the first content chunk, then close (status stays 200). */
  midStreamError?: string
  /** Streaming only: a pre-0.12.6 server: an error as a 200 NDJSON `{"error"}` line before any content. */
  legacyStreamError?: string
  /** Streaming only: end the stream without the `done:true` object. */
  noDone?: boolean
  /** Destroy the connection: mid-stream after the first chunk, or before any response when not streaming. */
  closeMidStream?: boolean
  /** `stop` (default) or `length` (hit num_predict or the context; the text may be cut). */
  doneReason?: 'stop' | 'length'
  /** Tokens reported as fed; default an estimate of the prompt (4 chars a token). Lower = silent truncation. */
  promptEvalCount?: number
  /** Characters per streamed chunk (default 8). */
  chunkSize?: number
  /** Streaming only: after the first chunk, send nothing more until this settles (added for the proxy's no-buffering test). */
  gate?: Promise<unknown>
}

export type ScriptFor = OllamaScript | ((request: ReceivedRequest) => OllamaScript)

export interface FakeModel {
  name: string
  /** e.g. ['completion'], ['completion', 'thinking']. */
  capabilities?: string[]
  contextLength?: number
}

export interface ReceivedRequest {
  method: string
  path: string
  headers: IncomingMessage['headers']
  /** The body as received. */
  raw: string
  /** The body parsed, when it was JSON. */
  body?: any
}

const JSON_TYPE = 'application/json; charset=utf-8'
const NDJSON_TYPE = 'application/x-ndjson'
const VERSION = '0.12.6'
const DIGEST = 'sha256:' + 'a'.repeat(64)

/** A Go-style RFC 3339 timestamp with fractional seconds. */
const now = () => new Date().toISOString().replace('Z', '000Z')

/** Go's encoding/json error text for a body JSON.parse refused (the common cases). */
function goDecoderError(raw: string): string {
  const trimmed = raw.trim()
  try {
    JSON.parse(trimmed)
  } catch {
    const inKey = /^\{\s*[^"\s}]/.exec(trimmed)
    if (inKey) return `invalid character '${trimmed[inKey[0].length - 1]}' looking for beginning of object key string`
    // Input cut short (a valid prefix) reads as EOF to Go's decoder.
    if (/^[{[]/.test(trimmed) && !/[}\]]$/.test(trimmed)) return 'unexpected EOF'
    return `invalid character '${trimmed[0]}' looking for beginning of value`
  }
  return 'json: cannot unmarshal value'
}

const KNOWN_ROUTES: Record<string, string[]> = {
  '/': ['GET', 'HEAD'],
  '/api/version': ['GET', 'HEAD'],
  '/api/tags': ['GET', 'HEAD'],
  '/api/ps': ['GET'],
  '/api/show': ['POST'],
  '/api/chat': ['POST'],
  '/api/generate': ['POST'],
}

export class FakeOllama {
  readonly requests: ReceivedRequest[] = []
  models: FakeModel[]
  /** Used when the queue is empty. */
  defaultScript: ScriptFor = {}
  private readonly queue: ScriptFor[] = []
  private readonly server: Server
  private readonly sockets = new Set<Socket>()
  private port = 0

  constructor(options: {models?: FakeModel[]} = {}) {
    this.models = options.models ?? [{name: 'llama3.1:8b', capabilities: ['completion', 'tools'], contextLength: 131_072}]
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error) => {
        if (!res.headersSent) this.error(res, 500, String(error))
        else res.destroy()
      })
    })
    this.server.on('connection', (socket) => {
      this.sockets.add(socket)
      socket.on('close', () => this.sockets.delete(socket))
    })
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.port = (this.server.address() as AddressInfo).port
    return this
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  /** Queues replies for the next chat/generate requests, in order. */
  script(...scripts: ScriptFor[]): this {
    this.queue.push(...scripts)
    return this
  }

  /** The chat and generate requests received, bodies parsed. */
  get generations(): ReceivedRequest[] {
    return this.requests.filter((r) => r.path === '/api/chat' || r.path === '/api/generate')
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const raw = Buffer.concat(chunks).toString('utf8')
    const path = new URL(req.url ?? '/', 'http://x').pathname
    const received: ReceivedRequest = {method: req.method ?? 'GET', path, headers: req.headers, raw}
    try {
      if (raw.trim() !== '') received.body = JSON.parse(raw)
    } catch {
      // left undefined: the route answers with the decoder's error
    }
    this.requests.push(received)

    const methods = KNOWN_ROUTES[path]
    if (!methods) return this.text(res, 404, '404 page not found')
    if (!methods.includes(received.method)) return this.text(res, 405, '405 method not allowed')
    const head = received.method === 'HEAD'
    switch (path) {
      case '/':
        return this.text(res, 200, 'Ollama is running', head)
      case '/api/version':
        return this.json(res, 200, {version: VERSION}, head)
      case '/api/tags':
        return this.json(res, 200, {models: this.models.map((m) => this.describe(m))}, head)
      case '/api/ps':
        return this.json(res, 200, {models: []})
      case '/api/show':
        return this.show(res, received, raw)
      default:
        return this.generate(res, received, raw, path === '/api/chat')
    }
  }

  private describe(model: FakeModel) {
    return {
      name: model.name,
      model: model.name,
      modified_at: now(),
      size: 4_920_753_328,
      digest: DIGEST,
      details: {
        parent_model: '',
        format: 'gguf',
        family: 'llama',
        families: ['llama'],
        parameter_size: '8.0B',
        quantization_level: 'Q4_K_M',
      },
    }
  }

  private find(name: string): FakeModel | undefined {
    const full = name.includes(':') ? name : `${name}:latest`
    return this.models.find((m) => m.name === name || m.name === full)
  }

  /** Checks the body as the server does before any model work; answers and returns undefined on a problem. */
  private decode(res: ServerResponse, received: ReceivedRequest, raw: string): Record<string, any> | undefined {
    if (raw.trim() === '') {
      this.error(res, 400, 'missing request body')
      return undefined
    }
    if (received.body === undefined) {
      this.error(res, 400, goDecoderError(raw))
      return undefined
    }
    if (typeof received.body !== 'object' || received.body === null || Array.isArray(received.body)) {
      this.error(
        res,
        400,
        `json: cannot unmarshal ${Array.isArray(received.body) ? 'array' : typeof received.body} into Go value of type api.ChatRequest`,
      )
      return undefined
    }
    return received.body
  }

  private show(res: ServerResponse, received: ReceivedRequest, raw: string): void {
    const body = this.decode(res, received, raw)
    if (!body) return
    const name = body.model || body.name
    if (!name) return this.error(res, 400, 'model is required')
    const model = this.find(name)
    if (!model) return this.error(res, 404, `model '${name.includes(':') ? name : `${name}:latest`}' not found`)
    this.json(res, 200, {
      license: '',
      modelfile: `FROM ${model.name}`,
      parameters: 'stop "<|eot_id|>"',
      template: '{{ .Prompt }}',
      details: this.describe(model).details,
      model_info: {'general.architecture': 'llama', 'llama.context_length': model.contextLength ?? 131_072},
      capabilities: model.capabilities ?? ['completion'],
      modified_at: now(),
    })
  }

  private async generate(res: ServerResponse, received: ReceivedRequest, raw: string, chat: boolean): Promise<void> {
    const body = this.decode(res, received, raw)
    if (!body) return
    if (chat && body.messages !== undefined && body.messages !== null && !Array.isArray(body.messages)) {
      return this.error(
        res,
        400,
        `json: cannot unmarshal ${typeof body.messages} into Go struct field ChatRequest.messages of type []api.Message`,
      )
    }
    if (typeof body.model !== 'string' || body.model === '') return this.error(res, 400, 'model is required')
    const model = this.find(body.model)
    if (!model) return this.error(res, 404, `model '${body.model}' not found`)
    if (body.think === true && !(model.capabilities ?? []).includes('thinking'))
      return this.error(res, 400, `"${body.model}" does not support thinking`)
    for (const key of ['num_ctx', 'num_predict', 'seed', 'top_k', 'num_keep']) {
      const value = body.options?.[key]
      if (value !== undefined && typeof value !== 'number') return this.error(res, 500, `option "${key}" must be of type integer`)
    }
    const format = body.format
    const formatSet = format !== undefined && format !== null && format !== ''
    if (formatSet && format !== 'json' && (typeof format !== 'object' || Array.isArray(format))) {
      return this.error(res, 500, `invalid format: ${JSON.stringify(format)}; expected "json" or a valid JSON Schema object`)
    }
    const stream = body.stream !== false

    // An empty prompt loads (or with keep_alive 0 unloads) the model.
    const prompt = chat ? (body.messages ?? []).map((m: {content?: string}) => m.content ?? '').join('\n') : (body.prompt ?? '')
    if ((chat && (body.messages ?? []).length === 0) || (!chat && prompt === '')) {
      const doneReason = body.keep_alive === 0 ? 'unload' : 'load'
      const object = chat
        ? {model: body.model, created_at: now(), message: {role: 'assistant', content: ''}, done: true, done_reason: doneReason}
        : {model: body.model, created_at: now(), response: '', done: true, done_reason: doneReason}
      return stream ? this.ndjson(res, [object]) : this.json(res, 200, object)
    }

    const next = this.queue.shift() ?? this.defaultScript
    const script = typeof next === 'function' ? next(received) : next
    if (script.hang) return // the socket stays open until the client aborts or close() runs
    if (script.delayMs) await new Promise((resolve) => setTimeout(resolve, script.delayMs))
    if (script.status && script.status !== 200) return this.error(res, script.status, script.error ?? 'internal error')
    if (script.error && !stream) return this.error(res, 500, script.error)
    if (script.closeMidStream && !stream) {
      res.socket?.destroy()
      return
    }

    const text =
      script.reply === undefined
        ? formatSet
          ? '{}'
          : 'ok'
        : typeof script.reply === 'string'
          ? script.reply
          : JSON.stringify(script.reply)
    const promptTokens = script.promptEvalCount ?? Math.ceil(prompt.length / 4)
    const evalCount = Math.max(1, Math.ceil(text.length / 4))
    const metrics = {
      total_duration: 1_000_000 * (50 + evalCount),
      load_duration: script.delayMs ? script.delayMs * 1_000_000 : 0,
      prompt_eval_count: promptTokens,
      prompt_eval_duration: promptTokens * 100_000,
      eval_count: evalCount,
      eval_duration: evalCount * 1_000_000,
    }
    // Go's omitempty: a zero metric is left out.
    const final = Object.fromEntries(Object.entries(metrics).filter(([, v]) => v !== 0))
    const piece = (content: string, done: boolean) =>
      chat
        ? {model: body.model, created_at: now(), message: {role: 'assistant', content}, done}
        : {model: body.model, created_at: now(), response: content, done}
    const doneReason = script.doneReason ?? 'stop'

    if (!stream) {
      return this.json(res, 200, {...piece(text, true), done_reason: doneReason, ...final, ...(chat ? {} : {context: [1, 2, 3]})})
    }
    if (script.error) {
      // From v0.12.6 an error before the first byte gets a real status.
      return this.error(res, 500, script.error)
    }
    res.writeHead(200, {'Content-Type': NDJSON_TYPE})
    if (script.legacyStreamError) {
      res.end(`${JSON.stringify({error: script.legacyStreamError})}\n`)
      return
    }
    const size = script.chunkSize ?? 8
    for (let at = 0; at < text.length; at += size) {
      res.write(`${JSON.stringify(piece(text.slice(at, at + size), false))}\n`)
      if (at === 0 && script.closeMidStream) {
        // Let the first chunk reach the client before the connection drops.
        await new Promise((resolve) => setTimeout(resolve, 20))
        res.socket?.destroy()
        return
      }
      if (at === 0 && script.gate) await script.gate
      if (at === 0 && script.midStreamError) {
        res.end(`${JSON.stringify({error: script.midStreamError})}\n`)
        return
      }
    }
    if (script.noDone) {
      res.end()
      return
    }
    res.end(`${JSON.stringify({...piece('', true), done_reason: doneReason, ...final, ...(chat ? {} : {context: [1, 2, 3]})})}\n`)
  }

  private ndjson(res: ServerResponse, objects: object[]): void {
    res.writeHead(200, {'Content-Type': NDJSON_TYPE})
    res.end(objects.map((o) => `${JSON.stringify(o)}\n`).join(''))
  }

  private json(res: ServerResponse, status: number, value: unknown, head = false): void {
    const text = JSON.stringify(value)
    res.writeHead(status, {'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(text)})
    res.end(head ? undefined : text)
  }

  private error(res: ServerResponse, status: number, message: string): void {
    this.json(res, status, {error: message})
  }

  private text(res: ServerResponse, status: number, text: string, head = false): void {
    res.writeHead(status, {'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text)})
    res.end(head ? undefined : text)
  }
}

/** Starts a fake Ollama server; `await fake.close()` when done. */
export async function startFakeOllama(options: {models?: FakeModel[]} = {}): Promise<FakeOllama> {
  return new FakeOllama(options).start()
}

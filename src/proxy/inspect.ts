import {createHash} from 'node:crypto'

import {globToRegExp} from '../events/filter.js'

/** Most prompt text `--log-prompts` puts into one entry (a line holds at most 1 MiB). */
export const MAX_LOGGED_PROMPT = 64 * 1024

/** What api.request records of a request body. */
export interface RequestFacts {
  model?: string
  stream?: boolean
  prompt_bytes?: number
  prompt_sha256?: string
  prompt?: string
  prompt_truncated?: true
}

/**
 * The prompt of an Ollama request body: generate's `prompt`, chat's message contents (one per line),
 * embed's `input` (a string or strings). Undefined for bodies without one.
 */
function promptText(body: Record<string, unknown>): string | undefined {
  if (typeof body.prompt === 'string') return body.prompt
  if (Array.isArray(body.messages)) {
    return body.messages
      .map((m) =>
        m && typeof m === 'object' && typeof (m as {content?: unknown}).content === 'string' ? (m as {content: string}).content : '',
      )
      .join('\n')
  }
  if (typeof body.input === 'string') return body.input
  if (Array.isArray(body.input)) return body.input.filter((i) => typeof i === 'string').join('\n')
  return undefined
}

/** Reads what the audit records from a request body (JSON or not: Ollama answers bad JSON itself). */
export function inspectRequest(body: Buffer, logPrompts: boolean): RequestFacts {
  if (body.length === 0) return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch {
    return {}
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return {}
  const request = parsed as Record<string, unknown>
  const facts: RequestFacts = {}
  // /api/copy names its model `source`; `name` is the deprecated alias of `model` (show, pull, delete).
  const model = [request.model, request.name, request.source].find((m) => typeof m === 'string' && m !== '')
  if (typeof model === 'string') facts.model = model
  if (typeof request.stream === 'boolean') facts.stream = request.stream
  const prompt = promptText(request)
  if (prompt !== undefined) {
    facts.prompt_bytes = Buffer.byteLength(prompt)
    facts.prompt_sha256 = createHash('sha256').update(prompt, 'utf8').digest('hex')
    if (logPrompts) {
      facts.prompt = prompt.length > MAX_LOGGED_PROMPT ? prompt.slice(0, MAX_LOGGED_PROMPT) : prompt
      if (prompt.length > MAX_LOGGED_PROMPT) facts.prompt_truncated = true
    }
  }
  return facts
}

/** A model name with its tag: Ollama reads "llama3" as "llama3:latest". */
function withTag(name: string): string {
  return name.includes(':') ? name : `${name}:latest`
}

/** --allow-models: names or globs; a name without a tag means its :latest. */
export class ModelAllowList {
  private readonly patterns: RegExp[]

  constructor(readonly names: string[]) {
    this.patterns = names.map((n) => globToRegExp(n.includes('*') || n.includes('?') ? n : withTag(n)))
  }

  get empty(): boolean {
    return this.names.length === 0
  }

  allows(model: string): boolean {
    const tagged = withTag(model)
    return this.patterns.some((p) => p.test(tagged) || p.test(model))
  }
}

/** The final chunk's numbers that api.response records. */
export interface ResponseFacts {
  prompt_eval_count?: number
  eval_count?: number
  done_reason?: string
  /** An error Ollama sent in the body (a JSON error, or a mid-stream `{"error":…}` line). */
  upstream_error?: string
}

/** The last line kept; a longer one (a huge non-streamed answer) loses its metrics, not the request. */
const MAX_TAIL = 1024 * 1024

/**
 * Watches a response body as it passes, keeping only its last JSON line (the final NDJSON chunk,
 * or the one object of a non-streamed answer), so memory stays bounded whatever the answer's size.
 */
export class ResponseTail {
  private pending: Buffer[] = []
  private pendingBytes = 0
  private last: Buffer | undefined
  private overflow = false

  push(chunk: Buffer): void {
    let start = 0
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      this.append(chunk.subarray(start, nl))
      this.endLine()
      start = nl + 1
    }
    if (start < chunk.length) this.append(chunk.subarray(start))
  }

  private append(part: Buffer): void {
    if (this.overflow || part.length === 0) return
    if (this.pendingBytes + part.length > MAX_TAIL) {
      this.overflow = true
      this.pending = []
      this.pendingBytes = 0
      return
    }
    // Copied: the chunk's memory belongs to the socket.
    this.pending.push(Buffer.from(part))
    this.pendingBytes += part.length
  }

  private endLine(): void {
    if (this.overflow) this.last = undefined
    else if (this.pendingBytes > 0) this.last = Buffer.concat(this.pending, this.pendingBytes)
    this.pending = []
    this.pendingBytes = 0
    this.overflow = false
  }

  /** The numbers of the last line, once the body has ended. */
  facts(): ResponseFacts {
    this.endLine()
    if (!this.last) return {}
    let parsed: unknown
    try {
      parsed = JSON.parse(this.last.toString('utf8'))
    } catch {
      return {}
    }
    if (parsed === null || typeof parsed !== 'object') return {}
    const object = parsed as Record<string, unknown>
    const facts: ResponseFacts = {}
    if (Number.isSafeInteger(object.prompt_eval_count)) facts.prompt_eval_count = object.prompt_eval_count as number
    if (Number.isSafeInteger(object.eval_count)) facts.eval_count = object.eval_count as number
    if (typeof object.done_reason === 'string') facts.done_reason = object.done_reason.slice(0, 64)
    if (typeof object.error === 'string') facts.upstream_error = object.error.slice(0, 1024)
    return facts
  }
}

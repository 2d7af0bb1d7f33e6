import {Ollama} from 'ollama'

/**
 * The one place the Ollama client is built. Every request gets a deadline through a custom fetch
 * (the client has no timeout and no signal option of its own); a stream's own signal is kept.
 */
export function makeOllamaClient(host: string, timeoutMs: number): Ollama {
  return new Ollama({
    host,
    fetch: (url, init) => {
      const deadline = AbortSignal.timeout(timeoutMs)
      return fetch(url, {...init, signal: init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline})
    },
  })
}

/**
 * Runs `work` with console.log/info/warn silenced: ollama-js prints to stdout on some error
 * bodies ("Getting text from response") and on unparsable stream lines, and our stdout is the report.
 */
export async function quietly<T>(work: () => Promise<T>): Promise<T> {
  const saved = {log: console.log, info: console.info, warn: console.warn}
  const quiet = () => {}
  console.log = quiet
  console.info = quiet
  console.warn = quiet
  try {
    return await work()
  } finally {
    Object.assign(console, saved)
  }
}

/** The host as it may be shown: without credentials, query or fragment. */
export function displayHost(host: string): string {
  try {
    const url = new URL(/^[a-z]+:\/\//i.test(host) ? host : `http://${host}`)
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`
  } catch {
    return 'the configured host'
  }
}

/** One line saying why a call to Ollama failed, for the report. */
export function describeOllamaError(error: unknown, context: {host: string; model: string; timeoutMs: number}): string {
  const e = error as Error & {status_code?: number; error?: string; cause?: {code?: string; message?: string}}
  const where = displayHost(context.host)
  if (e?.name === 'TimeoutError') return `Ollama at ${where} gave no answer within ${Math.round(context.timeoutMs / 1000)} s (--timeout)`
  if (e?.name === 'ResponseError' || typeof e?.status_code === 'number') {
    const message = String(e.error ?? e.message).slice(0, 200)
    if (e.status_code === 404 && /^model .* not found/i.test(message))
      return `model ${context.model} is not on the Ollama server at ${where} (run: ollama pull ${context.model})`
    return `Ollama at ${where} answered ${e.status_code}: ${message}`
  }
  const code = e?.cause?.code
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return `Ollama at ${where} closed the connection before answering`
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'EAI_AGAIN') {
    return `Ollama is unreachable at ${where} (${code}); start it with \`ollama serve\` or set --ollama-host / OLLAMA_HOST`
  }
  if (e instanceof TypeError && /fetch failed/.test(e.message))
    return `Ollama is unreachable at ${where} (${e.cause?.message ?? 'fetch failed'})`
  return `Ollama at ${where} failed: ${String(e?.message ?? error).slice(0, 200)}`
}

/** Shared by the proxy tests: the real `audit proxy` process, HTTP calls with raw bodies, its log. */
import type {ChildProcessWithoutNullStreams} from 'node:child_process'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {Agent, request} from 'node:http'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {spawnAudit, tempDir} from '../helpers.js'

export interface RunningProxy {
  child: ChildProcessWithoutNullStreams
  /** http://127.0.0.1:PORT */
  url: string
  dir: string
  stdout: () => string
  stderr: () => string
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>
  /** SIGTERM and wait for the exit (the code). */
  stop: () => Promise<number | null>
}

/** Starts `audit proxy --listen 127.0.0.1:0 --upstream UPSTREAM --dir DIR ...args` and waits until it listens. */
export async function startProxy(upstream: string, args: string[] = [], options: {dir?: string} = {}): Promise<RunningProxy> {
  const dir = options.dir ?? join(tempDir('proxy-'), 'logs')
  const child = spawnAudit(['proxy', '--listen', '127.0.0.1:0', '--upstream', upstream, '--dir', dir, ...args])
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d) => {
    stdout += d
  })
  child.stderr.setEncoding('utf8').on('data', (d) => {
    stderr += d
  })
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  const deadline = Date.now() + 120_000 // for a proxy that never starts, as runAudit's limit
  let match: RegExpExecArray | null = null
  while (!(match = /listening on (\S+),/.exec(stdout))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      // One left running would keep the test file from ever ending.
      child.kill('SIGKILL')
      throw new Error(`audit proxy did not start: ${stderr}`)
    }
    await sleep(20)
  }
  const url = `http://${match[1]}`
  return {
    child,
    url,
    dir,
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM')
      return exited
    },
  }
}

export interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

const agent = new Agent({keepAlive: false, maxSockets: Infinity})

/** One HTTP exchange; the body as the bytes that arrived. */
export function call(
  base: string,
  path: string,
  options: {method?: string; body?: string | Buffer; headers?: Record<string, string>; signal?: AbortSignal} = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : Buffer.from(options.body)
    const req = request(
      `${base}${path}`,
      {
        method: options.method ?? (body ? 'POST' : 'GET'),
        agent,
        signal: options.signal,
        headers: {...(body ? {'Content-Type': 'application/json', 'Content-Length': String(body.length)} : {}), ...options.headers},
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks)}))
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

export interface LoggedEntry {
  event: string
  level: string
  actor: string
  details: Record<string, any>
}

/** Every entry of the log directory, oldest first (the proxy writes one day's file in these tests). */
export function readLog(dir: string): LoggedEntry[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as LoggedEntry),
    )
}

/** The raw text of the log directory (to check that something never appears in it). */
export function rawLog(dir: string): string {
  if (!existsSync(dir)) return ''
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('')
}

/** Polls until `check` returns a value (not undefined/false), or fails after `ms`. */
export async function waitFor<T>(check: () => T | undefined | false, what: string, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(25)
  }
}

/** The entries of one request, by its id. */
export function eventsOf(dir: string, requestId: string): LoggedEntry[] {
  return readLog(dir).filter((e) => e.details.request_id === requestId)
}

/** The Ollama timestamps (which differ between two answers to the same request), masked alike. */
export function maskTimes(body: Buffer): Buffer {
  return Buffer.from(body.toString('latin1').replace(/"(created_at|modified_at)":"[^"]*"/g, '"$1":"T"'), 'latin1')
}

import {type ChildProcessWithoutNullStreams, spawn} from 'node:child_process'
import {mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {gzipSync} from 'node:zlib'

import type {Level} from '../src/events/model.js'
import {chainLine, GENESIS, serializeBody} from '../src/chain/native.js'

export const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)))
export const BIN = join(ROOT, 'bin', 'run.js')

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

export interface SpawnOptions {
  env?: Record<string, string>
  cwd?: string
  /** A command the binary runs under, e.g. ['prlimit', '--fsize=1000']. */
  wrapper?: string[]
}

/**
 * Starts the built `audit` binary as a real process. The environment is cleaned of AUDIT_*,
 * LOKI_AUDIT_* and config locations, and HOME is a fresh directory, so the host's settings
 * cannot leak into a test.
 */
export function spawnAudit(args: string[], options: SpawnOptions = {}): ChildProcessWithoutNullStreams {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(AUDIT_|LOKI_AUDIT_|XDG_|NO_COLOR|FORCE_COLOR|DEBUG)/.test(k)) env[k] = v
  }
  const home = tempDir('home-')
  Object.assign(
    env,
    {HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_STATE_HOME: join(home, '.state'), XDG_CACHE_HOME: join(home, '.cache')},
    options.env,
  )
  const [command, ...rest] = [...(options.wrapper ?? []), process.execPath, BIN, ...args]
  return spawn(command, rest, {env, cwd: options.cwd ?? home, stdio: ['pipe', 'pipe', 'pipe']})
}

/**
 * Runs the built `audit` binary to its end (see spawnAudit) and collects its output. The kill after
 * `timeoutMs` is for a hang, not a speed check: a start is ~0.65 s of CPU, and on a loaded 2-core
 * machine runs that are quick here took 15-30 s (the old default of 30 s failed them).
 */
export function runAudit(args: string[], options: SpawnOptions & {input?: string; timeoutMs?: number} = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawnAudit(args, options)
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d
    })
    child.stderr.setEncoding('utf8').on('data', (d) => {
      stderr += d
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolvePromise({code, stdout, stderr})
    })
    child.stdin.end(options.input ?? '')
  })
}

const made: string[] = []
/** A fresh temporary directory (0700), removed when the test process exits. */
export function tempDir(prefix = 'auditkit-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  made.push(dir)
  return dir
}
process.on('exit', () => {
  for (const dir of made) rmSync(dir, {recursive: true, force: true})
})

export interface EntrySpec {
  timestamp: string
  event: string
  level?: Level
  actor?: string
  details?: Record<string, unknown>
}

/** Native lines for the given entries, chained from `prev`; returns the lines and the new head. */
export function chainedLines(entries: EntrySpec[], prev = GENESIS): {lines: string[]; head: string} {
  const lines: string[] = []
  for (const e of entries) {
    const body = serializeBody({
      timestamp: e.timestamp,
      event: e.event,
      level: e.level ?? 'info',
      actor: e.actor ?? 'alice',
      details: e.details ?? {},
      metadata: {hostname: 'test', pid: 1, version: '0.0.0'},
    })
    const {line, hash} = chainLine(body, prev)
    lines.push(line)
    prev = hash
  }
  return {lines, head: prev}
}

/** Writes a log file (gzipped when the name ends in .gz) with the given lines, each LF-terminated. */
export function writeLog(dir: string, name: string, lines: string[], options: {terminate?: boolean} = {}): string {
  mkdirSync(dir, {recursive: true})
  const text = lines.join('\n') + (options.terminate === false || lines.length === 0 ? '' : '\n')
  const path = join(dir, name)
  writeFileSync(path, name.endsWith('.gz') ? gzipSync(text) : text, {mode: 0o600})
  return path
}

/**
 * The writer's live file in `dir`: its newest day file, found rather than named by today's date,
 * which may have passed midnight (UTC) since the writer opened it.
 */
export function liveFile(dir: string): string {
  const days = readdirSync(dir).filter((name) => /^audit-\d{4}-\d{2}-\d{2}\.jsonl$/.test(name))
  if (days.length === 0) throw new Error(`no live file in ${dir}`)
  return join(dir, days.sort().at(-1)!)
}

/**
 * Runs `run` over every item, `limit` at a time, and gives the results in the items' order: for
 * independent runs of the binary, whose start-up is most of their time, so that they overlap.
 */
export async function inParallel<T, R>(items: readonly T[], run: (item: T) => Promise<R>, limit = 4): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      results[i] = await run(items[i])
    }
  }
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker))
  return results
}

/**
 * A small deterministic PRNG (mulberry32) for the fuzz tests: the same seed, the same lines, so a
 * failure can be run again. `pick` chooses one of `items` with it.
 */
export function seededRandom(seed: number): {random: () => number; pick: <T>(items: readonly T[]) => T} {
  let state = seed >>> 0
  const random = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
  return {random, pick: (items) => items[Math.floor(random() * items.length)]}
}

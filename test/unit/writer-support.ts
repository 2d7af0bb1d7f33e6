/** Shared by the writer's tests: an independent chain check and a child process that writes. */
import {spawn, type ChildProcess} from 'node:child_process'
import {createHash} from 'node:crypto'
import {join} from 'node:path'

import {chainHash, GENESIS, splitChainedLine} from '../../src/chain/native.js'
import {Diagnostics} from '../../src/store/diagnostics.js'
import {listLogFiles} from '../../src/store/files.js'
import {readFileLines} from '../../src/store/reader.js'
import {ROOT} from '../helpers.js'

export interface CheckedLine {
  file: string
  line: number
  raw: string
  /** Set when the line is not valid UTF-8. */
  bytes?: Buffer
  entry?: Record<string, unknown> & {event: string; details: Record<string, unknown>}
}

export interface ChainCheck {
  lines: CheckedLine[]
  /** Chained entries, in chain order. */
  entries: NonNullable<CheckedLine['entry']>[]
  /** Non-entry lines that an audit.recovery event records exactly (file, line, bytes, sha256). */
  recorded: number
  problems: string[]
}

/**
 * Reads every file in chain order and checks the native rule byte for byte, independently of the
 * writer: each line chains from the previous one (the first from `start`), and every line that is
 * not a chained entry is a torn fragment recorded by an `audit.recovery` event.
 */
export async function checkChain(dir: string, start = GENESIS): Promise<ChainCheck> {
  const diagnostics = new Diagnostics()
  const lines: CheckedLine[] = []
  for (const file of await listLogFiles(dir)) {
    for await (const batch of readFileLines(file, diagnostics)) {
      for (const {text, line, bytes} of batch) lines.push({file: file.name, line, raw: text, bytes})
    }
  }
  const problems = diagnostics.lines()
  const fragments: CheckedLine[] = []
  const recoveries = new Map<string, Record<string, unknown>>()
  let prev = start
  for (const l of lines) {
    const split = splitChainedLine(l.raw)
    if (!split) {
      fragments.push(l)
      continue
    }
    if (chainHash(prev, split.body) !== split.hash) problems.push(`${l.file}:${l.line}: chain broken`)
    prev = split.hash
    l.entry = JSON.parse(l.raw)
    if (l.entry!.event === 'audit.recovery') recoveries.set(`${l.entry!.details.file}:${l.entry!.details.line}`, l.entry!.details)
  }
  let recorded = 0
  for (const f of fragments) {
    const r = recoveries.get(`${f.file}:${f.line}`)
    const bytes = f.bytes ?? Buffer.from(f.raw)
    if (r && r.fragment_bytes === bytes.length && r.fragment_sha256 === createHash('sha256').update(bytes).digest('hex')) recorded++
    else problems.push(`${f.file}:${f.line}: unrecorded non-entry line`)
  }
  return {lines, entries: lines.flatMap((l) => (l.entry ? [l.entry] : [])), recorded, problems}
}

export const CHILD = join(ROOT, 'test', 'unit', 'writer-child.ts')

/**
 * Starts test/unit/writer-child.ts with settings in its environment; `fileSizeLimit` (bytes) runs
 * it under util-linux prlimit, so a write(2) past the limit is cut short as on a full disk.
 */
export function startChild(env: Record<string, string>, fileSizeLimit?: number): ChildProcess {
  const node = [process.execPath, '--import', 'tsx', CHILD]
  const [command, ...args] = fileSizeLimit === undefined ? node : ['prlimit', `--fsize=${fileSizeLimit}`, ...node]
  return spawn(command, args, {cwd: ROOT, env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']})
}

/** Waits for a child to exit; rejects with its stderr when it fails. */
export function exited(child: ChildProcess): Promise<number | null> {
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (d) => {
    stderr += d
  })
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) =>
      code === 0 || signal === 'SIGKILL' ? resolve(code) : reject(new Error(`child exited ${code ?? signal}: ${stderr}`)),
    )
  })
}

/**
 * Write throughput of AuditWriter: `node --import tsx bench/write.ts` prints a markdown section.
 * Entries are ~300-byte lines like the proxy's (event, actor, a few details, metadata), chained.
 * Each case runs in a fresh directory under the OS temp dir; ENTRIES=n scales the runs.
 */
import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {cpus, tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {AuditWriter, type WriterSettings} from '../src/index.js'

const N = Number(process.env.ENTRIES ?? 100_000)

function entry(i: number) {
  return {
    event: 'api.request',
    actor: 'svc-gateway',
    details: {method: 'POST', path: '/api/generate', status: 200, ms: i % 977, ip: '10.0.0.5'},
  }
}

/** Writes `n` entries keeping `inFlight` calls outstanding (1: each write awaited before the next). */
async function run(n: number, inFlight: number, fsync: WriterSettings['fsync']): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'auditkit-bench-'))
  try {
    const writer = await AuditWriter.open(dir, {fsync})
    const start = process.hrtime.bigint()
    if (inFlight === 1) {
      for (let i = 0; i < n; i++) await writer.write(entry(i))
    } else {
      let pending: Promise<unknown>[] = []
      for (let i = 0; i < n; i++) {
        pending.push(writer.write(entry(i)))
        if (pending.length === inFlight) {
          await Promise.all(pending)
          pending = []
        }
      }
      await Promise.all(pending)
    }
    await writer.close()
    return n / (Number(process.hrtime.bigint() - start) / 1e9)
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

/** `procs` processes appending to one directory at once; entries/s over all of them. */
async function multiProcess(procs: number, perProc: number, inFlight: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'auditkit-bench-'))
  const self = fileURLToPath(import.meta.url)
  try {
    const start = process.hrtime.bigint()
    await Promise.all(
      Array.from(
        {length: procs},
        () =>
          new Promise<void>((resolve, reject) => {
            const child = spawn(process.execPath, ['--import', 'tsx', self], {
              env: {...process.env, BENCH_CHILD: `${dir}:${perProc}:${inFlight}`},
              stdio: 'inherit',
            })
            child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`child exited ${code}`))))
          }),
      ),
    )
    return (procs * perProc) / (Number(process.hrtime.bigint() - start) / 1e9)
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

async function child(spec: string): Promise<void> {
  const [dir, perProc, inFlight] = spec.split(':')
  const writer = await AuditWriter.open(dir, {fsync: 'interval'})
  let pending: Promise<unknown>[] = []
  for (let i = 0; i < Number(perProc); i++) {
    pending.push(writer.write(entry(i)))
    if (pending.length === Number(inFlight)) {
      await Promise.all(pending)
      pending = []
    }
  }
  await Promise.all(pending)
  await writer.close()
}

function machine(): string {
  const model = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown CPU'
  return `${cpus().length} CPUs (nproc), ${model}, Node ${process.version}, temp dir ${tmpdir()}`
}

const fmt = (rate: number) => `${Math.round(rate).toLocaleString('en-US')}`

if (process.env.BENCH_CHILD) {
  await child(process.env.BENCH_CHILD)
} else {
  const rows: string[] = []
  const row = (what: string, fsync: string, entries: number, rate: number) =>
    rows.push(`| ${what} | ${fsync} | ${entries.toLocaleString('en-US')} | ${fmt(rate)} |`)
  await run(5000, 1000, 'interval') // warm-up
  row('one process, loop, 1,000 calls in flight (batched under one lock)', 'interval', N, await run(N, 1000, 'interval'))
  row('one process, loop, 100 calls in flight', 'interval', N, await run(N, 100, 'interval'))
  row('one process, loop, each write awaited (one lock per entry)', 'interval', N / 2, await run(N / 2, 1, 'interval'))
  row('one process, loop, 1,000 calls in flight', 'always', N, await run(N, 1000, 'always'))
  row('one process, loop, each write awaited (one fdatasync per entry)', 'always', 2000, await run(2000, 1, 'always'))
  row('4 processes at once, 1,000 in flight each (total)', 'interval', 4 * (N / 4), await multiProcess(4, N / 4, 1000))
  row('4 processes at once, each write awaited (total)', 'interval', 4 * 5000, await multiProcess(4, 5000, 1))
  process.stdout.write(
    [
      '## Writing (AuditWriter, `audit log`)',
      '',
      `Machine: ${machine()}. Command: \`node --import tsx bench/write.ts\` (ENTRIES=${N}).`,
      'Chained native lines of about 300 bytes; entries/s from the first write to close() (which syncs).',
      '',
      '| case | fsync | entries | entries/s |',
      '| --- | --- | ---: | ---: |',
      ...rows,
      '',
    ].join('\n'),
  )
}

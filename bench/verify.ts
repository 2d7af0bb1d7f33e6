/**
 * Times `audit verify` (the built binary) on a native corpus given on the command line and on a
 * loki-mode corpus it generates into a temporary directory; prints a markdown section.
 *
 *   node --import tsx bench/verify.ts bench/corpus [--runs 5] [--loki-entries 1000000]
 *
 * Rows: native (the default: a line whose link holds is not parsed), native --strict (every line
 * parsed and checked against the model), and the loki-mode profile. Both corpora hold a million
 * entries by default, so process start-up (about 0.15 s) weighs the same in each rate.
 */
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {availableParallelism, tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'

import {BIN, writeLog} from '../test/helpers.js'
import {chain, fixtureBody} from '../test/verify-fixtures.js'
import {GENESIS} from '../src/chain/native.js'

const {values, positionals} = parseArgs({
  allowPositionals: true,
  options: {runs: {type: 'string', default: '5'}, 'loki-entries': {type: 'string', default: '1000000'}},
})
const corpus = positionals[0]
if (!corpus || !existsSync(corpus)) {
  console.error('usage: bench/verify.ts <native corpus dir> [--runs N] [--loki-entries N]')
  process.exit(2)
}
if (!existsSync(join(BIN, '..', '..', 'dist', 'commands', 'verify.js'))) {
  console.error('build first: npx tsc -p tsconfig.json && npx oclif manifest')
  process.exit(2)
}

interface Run {
  seconds: number
  rssKiB: number
  entries: number
}

/** One `audit verify --json` run: wall time, peak RSS (GNU time when present), entries checked. */
function once(dir: string, profile?: string, extra: string[] = []): Promise<Run> {
  const gnuTime = existsSync('/usr/bin/time')
  const args = [BIN, 'verify', '--dir', dir, '--json', ...(profile ? ['--profile', profile] : []), ...extra]
  const [cmd, argv] = gnuTime ? ['/usr/bin/time', ['-f', 'RSS %M', process.execPath, ...args]] : [process.execPath, args]
  const start = process.hrtime.bigint()
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, {stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d
    })
    child.stderr.setEncoding('utf8').on('data', (d) => {
      err += d
    })
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9
      if (code !== 0) return reject(new Error(`verify exited ${code}: ${err.slice(0, 500)}`))
      const report = JSON.parse(out) as {entries: number}
      resolve({seconds, rssKiB: Number(/RSS (\d+)/.exec(err)?.[1] ?? 0), entries: report.entries})
    })
  })
}

async function measure(label: string, dir: string, runs: number, profile?: string, extra: string[] = []): Promise<string> {
  await once(dir, profile, extra) // warm the page cache
  const results: Run[] = []
  for (let i = 0; i < runs; i++) results.push(await once(dir, profile, extra))
  const sorted = [...results].sort((a, b) => a.seconds - b.seconds)
  const median = sorted[Math.floor(sorted.length / 2)]
  const rss = Math.max(...results.map((r) => r.rssKiB))
  return `| ${label} | ${median.entries.toLocaleString('en-US')} | ${median.seconds.toFixed(3)} | ${Math.round(median.entries / median.seconds).toLocaleString('en-US')} | ${rss ? `${(rss / 1024).toFixed(0)} MiB` : 'n/a'} |`
}

/** A loki-mode corpus: `entries` lines over three days, chained as loki-mode's dashboard writes them. */
function lokiCorpus(entries: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'auditkit-bench-loki-'))
  const days = ['2026-03-01', '2026-03-02', '2026-03-03']
  let prev = GENESIS
  for (const [d, day] of days.entries()) {
    const n = Math.floor(entries / days.length) + (d === 0 ? entries % days.length : 0)
    const {lines, head} = chain(
      'loki',
      Array.from({length: n}, (_, i) => fixtureBody('loki', day, i)),
      prev,
    )
    writeLog(dir, `audit-${day}.jsonl`, lines)
    prev = head
  }
  return dir
}

const runs = Number(values.runs)
const loki = lokiCorpus(Number(values['loki-entries']))
try {
  const rows = [
    await measure('native (bench corpus)', corpus, runs),
    await measure('native --strict (bench corpus)', corpus, runs, undefined, ['--strict']),
    await measure('loki-mode profile (generated)', loki, runs),
  ]
  process.stdout.write(
    [
      '## audit verify',
      '',
      `Median of ${runs} runs of the built binary (\`audit verify --dir DIR --json\`, process start included), ${availableParallelism()} cores, Node ${process.version}.`,
      '',
      '| corpus | entries | median s | entries/s | peak RSS |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...rows,
      '',
    ].join('\n'),
  )
} finally {
  rmSync(loki, {recursive: true, force: true})
}

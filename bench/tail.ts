/**
 * Times `audit tail` (the built binary) on the corpus given on the command line against a
 * 10,000-entry corpus it generates (bench/corpus-10000), so the ratio shows whether tail's cost
 * depends on the log's size; then `tail -n 200000` (linear in n), and the reader's throughput
 * (readFileLines over every file, in this process). Prints a markdown section.
 *
 *   node --import tsx bench/tail.ts bench/corpus [--runs 5]
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {parseArgs} from 'node:util'

import {Diagnostics} from '../src/store/diagnostics.js'
import {listLogFiles} from '../src/store/files.js'
import {readFileLines} from '../src/store/reader.js'

const ROOT = new URL('..', import.meta.url).pathname
const BIN = join(ROOT, 'bin', 'run.js')
const {values, positionals} = parseArgs({allowPositionals: true, options: {runs: {type: 'string', default: '5'}}})
const RUNS = Number(values.runs)
const corpus = positionals[0]
if (!corpus || !existsSync(corpus)) {
  console.error('usage: bench/tail.ts <corpus dir> [--runs N]')
  process.exit(2)
}
const small = join(ROOT, 'bench', 'corpus-10000')
if (!existsSync(small) || readdirSync(small).length === 0) {
  const args = ['--import', 'tsx', join(ROOT, 'scripts', 'generate-logs.ts'), '--out', small, '--entries', '10000', '--days', '7']
  execFileSync(process.execPath, [...args, '--max-file-size', '64'], {stdio: ['ignore', 'ignore', 'inherit']})
}

/** Median wall seconds of RUNS runs of the binary. */
function median(args: string[]): number {
  const seconds: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint()
    const result = spawnSync(process.execPath, [BIN, ...args], {stdio: ['ignore', 'ignore', 'pipe']})
    seconds.push(Number(process.hrtime.bigint() - start) / 1e9)
    if (result.status !== 0) throw new Error(`audit ${args.join(' ')} exited ${result.status}: ${result.stderr}`)
  }
  seconds.sort((a, b) => a - b)
  return seconds[Math.floor(seconds.length / 2)]
}

const fmt = (s: number) => `${s.toFixed(3)} s`
const entries = (dir: string) => readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0)

const tailBig = median(['tail', '-n', '20', '--dir', corpus])
const tailSmall = median(['tail', '-n', '20', '--dir', small])
const tailMany = median(['tail', '-n', '200000', '--format', 'json', '--dir', corpus])
const tailCsv = median(['tail', '-n', '20', '--format', 'csv', '--dir', corpus]) // csv shows line numbers: counted

let bytes = 0
let lines = 0
const start = process.hrtime.bigint()
for (const file of await listLogFiles(corpus)) {
  for await (const batch of readFileLines(file, new Diagnostics())) lines += batch.length
  bytes += statSync(file.path).size
}
const readSeconds = Number(process.hrtime.bigint() - start) / 1e9

console.log('### tail and the line reader')
console.log()
console.log(`| work | ${(entries(corpus) / 2 ** 20).toFixed(0)} MiB corpus | 10,000 entries | ratio |`)
console.log('| --- | --- | --- | --- |')
console.log(`| tail -n 20 | ${fmt(tailBig)} | ${fmt(tailSmall)} | ${(tailBig / tailSmall).toFixed(2)} |`)
console.log(`| tail -n 20 --format csv (line numbers counted) | ${fmt(tailCsv)} | | |`)
console.log(`| tail -n 200000 --format json | ${fmt(tailMany)} | | |`)
console.log(
  `| readFileLines, every file | ${fmt(readSeconds)} (${(bytes / 2 ** 20 / readSeconds).toFixed(0)} MiB/s, ${lines.toLocaleString('en')} lines) | | |`,
)

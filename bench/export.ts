/**
 * Times `audit export` (the built binary) on a corpus given on the command line; prints a markdown
 * section. Rows: to CEF and to ECS files, to a loopback Elasticsearch `_bulk` receiver, and a zip
 * evidence bundle of the whole corpus.
 *
 *   node --import tsx bench/export.ts bench/corpus [--runs 3]
 *
 * The receiver (bench/bulk-receiver.ts) checks and answers as Elasticsearch does; it runs in this
 * process, on the same cores, and the CPU time it took is printed below the table. The `_bulk` floor
 * is the same ecs-bulk text written to a file (no HTTP, no gzip).
 *
 *   --only cef,ecs,floor,bulk,zip   runs only those rows
 */
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'

import {BIN} from '../test/helpers.js'
import {startBulkReceiver} from './bulk-receiver.js'

const {values, positionals} = parseArgs({
  allowPositionals: true,
  options: {runs: {type: 'string', default: '3'}, only: {type: 'string', default: 'cef,ecs,floor,bulk,zip'}},
})
const corpus = positionals[0]
if (!corpus || !existsSync(corpus) || readdirSync(corpus).length === 0) {
  console.error('usage: bench/export.ts <corpus dir> [--runs N] [--only cef,ecs,floor,bulk,zip]')
  process.exit(2)
}
const RUNS = Number(values.runs)
const only = new Set(values.only.split(','))
const work = mkdtempSync(join(tmpdir(), 'auditkit-bench-export-'))

function run(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint()
    const child = spawn(process.execPath, [BIN, ...args], {stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (d) => {
      stderr += d
    })
    child.on('close', (code) =>
      code === 0
        ? resolve(Number(process.hrtime.bigint() - start) / 1e9)
        : reject(new Error(`audit ${args.join(' ')}: exit ${code}: ${stderr}`)),
    )
  })
}

async function median(args: () => string[]): Promise<number> {
  const seconds: number[] = []
  for (let i = 0; i < RUNS; i++) seconds.push(await run(args()))
  seconds.sort((a, b) => a - b)
  return seconds[Math.floor(seconds.length / 2)]
}

const receiver = await startBulkReceiver()

// The entry count, from an export that also warms the page cache.
let entries = 0
{
  const count = spawn(process.execPath, [BIN, 'search', '--all', '--count', '--dir', corpus], {stdio: ['ignore', 'pipe', 'inherit']})
  let out = ''
  count.stdout.on('data', (d) => {
    out += d
  })
  await new Promise((resolve) => count.on('close', resolve))
  entries = Number(out.trim())
}

const rate = (seconds: number) => `${Math.round(entries / seconds).toLocaleString('en')} entries/s`
const rows: Array<[string, number, string]> = []
let n = 0
if (only.has('cef')) {
  const cef = await median(() => ['export', '--dir', corpus, '--format', 'cef', '--output', join(work, `out-${n++}.cef`)])
  rows.push(['export --format cef --output FILE', cef, rate(cef)])
}
if (only.has('ecs')) {
  const ecs = await median(() => ['export', '--dir', corpus, '--format', 'ecs', '--output', join(work, `out-${n++}.ecs`)])
  rows.push(['export --format ecs --output FILE', ecs, rate(ecs)])
}
if (only.has('floor')) {
  const floor = await median(() => ['export', '--dir', corpus, '--format', 'ecs-bulk', '--output', join(work, `out-${n++}.ndjson`)])
  rows.push(['export --format ecs-bulk --output FILE (the _bulk floor: no HTTP)', floor, rate(floor)])
}
let receiverCpu = 0
if (only.has('bulk')) {
  const cpu = process.cpuUsage()
  const bulk = await median(() => ['export', '--dir', corpus, '--to', receiver.url])
  const used = process.cpuUsage(cpu)
  receiverCpu = (used.user + used.system) / 1e6 / RUNS
  if (receiver.refused() || receiver.received() !== entries * RUNS)
    throw new Error(`the receiver got ${receiver.received()} documents, expected ${entries * RUNS} ${receiver.refused()}`)
  rows.push(['export --to http://127.0.0.1/_bulk (gzip level 1, 5000 or 5 MiB a request, 2 in flight)', bulk, rate(bulk)])
}
if (only.has('zip')) {
  const zip = await median(() => ['export', '--dir', corpus, '--archive', 'zip', '--output', join(work, `bundle-${n++}.zip`)])
  rows.push(['export --archive zip (whole corpus, with verify)', zip, rate(zip)])
}
receiver.close()
rmSync(work, {recursive: true, force: true})

console.log(`### audit export (${entries.toLocaleString('en')} entries, median of ${RUNS})`)
console.log()
console.log('| command | seconds | rate |')
console.log('| --- | ---: | ---: |')
for (const [name, seconds, r] of rows) console.log(`| ${name} | ${seconds.toFixed(2)} | ${r} |`)
if (receiverCpu > 0) console.log(`\nThe receiver took ${receiverCpu.toFixed(2)} CPU-s a _bulk run (this process, beside the exporter).`)

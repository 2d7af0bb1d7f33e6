/**
 * Times `audit export` (the built binary) on a corpus given on the command line; prints a markdown
 * section. Rows: to CEF and to ECS files, to a loopback Elasticsearch `_bulk` receiver, and a zip
 * evidence bundle of the whole corpus.
 *
 *   node --import tsx bench/export.ts bench/corpus [--runs 3]
 *
 * The receiver answers `errors: false` after reading the (gzipped) body and counting its action
 * lines, so the rate is the exporter's; it runs in this process, on the same cores.
 */
import {spawn} from 'node:child_process'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {existsSync, mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'
import {gunzipSync} from 'node:zlib'

import {BIN} from '../test/helpers.js'

const {values, positionals} = parseArgs({allowPositionals: true, options: {runs: {type: 'string', default: '3'}}})
const corpus = positionals[0]
if (!corpus || !existsSync(corpus) || readdirSync(corpus).length === 0) {
  console.error('usage: bench/export.ts <corpus dir> [--runs N]')
  process.exit(2)
}
const RUNS = Number(values.runs)
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

let received = 0
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(Buffer.concat(chunks)) : Buffer.concat(chunks)
    let lines = 0
    for (let i = body.indexOf(10); i >= 0; i = body.indexOf(10, i + 1)) lines++
    received += lines / 2
    res.writeHead(200, {'content-type': 'application/json'})
    res.end('{"took":1,"errors":false,"items":[]}')
  })
})
await new Promise<void>((resolve) => {
  receiver.listen(0, '127.0.0.1', resolve)
})
const {port} = receiver.address() as AddressInfo

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
const cef = await median(() => ['export', '--dir', corpus, '--format', 'cef', '--output', join(work, `out-${n++}.cef`)])
rows.push(['export --format cef --output FILE', cef, rate(cef)])
const ecs = await median(() => ['export', '--dir', corpus, '--format', 'ecs', '--output', join(work, `out-${n++}.ecs`)])
rows.push(['export --format ecs --output FILE', ecs, rate(ecs)])
received = 0
const bulk = await median(() => ['export', '--dir', corpus, '--to', `http://127.0.0.1:${port}/_bulk`])
if (received !== entries * RUNS) throw new Error(`the receiver got ${received} documents, expected ${entries * RUNS}`)
rows.push(['export --to http://127.0.0.1/_bulk (gzip level 1, 5000 a request, 2 in flight)', bulk, rate(bulk)])
const zip = await median(() => ['export', '--dir', corpus, '--archive', 'zip', '--output', join(work, `bundle-${n++}.zip`)])
rows.push(['export --archive zip (whole corpus, with verify)', zip, rate(zip)])
receiver.close()
rmSync(work, {recursive: true, force: true})

console.log(`### audit export (${entries.toLocaleString('en')} entries, median of ${RUNS})`)
console.log()
console.log('| command | seconds | rate |')
console.log('| --- | ---: | ---: |')
for (const [name, seconds, r] of rows) console.log(`| ${name} | ${seconds.toFixed(2)} | ${r} |`)

/**
 * Times `audit export` (the built binary) on a corpus given on the command line; prints a markdown
 * section. Rows: to CEF and to ECS files, to a loopback Elasticsearch `_bulk` receiver, and a zip
 * evidence bundle of the whole corpus.
 *
 *   node --import tsx bench/export.ts bench/corpus [--runs 3]
 *
 * The receiver reads the (gunzipped) body, checks what Elasticsearch checks (the final newline,
 * action and document lines in pairs) and answers as it does, `errors: false` and one item per
 * action, without parsing the documents, so the rate is the exporter's; it runs in this process, on
 * the same cores. The `_bulk` floor is the same ecs-bulk text written to a file (no HTTP, no gzip).
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
let refused = ''
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(Buffer.concat(chunks)) : Buffer.concat(chunks)
    const items: string[] = []
    let lines = 0
    for (let start = 0, end = body.indexOf(10); end >= 0; start = end + 1, end = body.indexOf(10, start)) {
      if (lines++ % 2 === 1) continue
      const id = /^\{"create":\{"_id":"([0-9a-f]{64})"\}\}$/.exec(body.toString('latin1', start, end))?.[1]
      items.push(
        `{"create":{"_index":"logs","_id":"${id ?? `auto-${received + items.length}`}","_version":1,"result":"created","_shards":{"total":1,"successful":1,"failed":0},"_seq_no":${received + items.length},"_primary_term":1,"status":201}}`,
      )
    }
    if (body.at(-1) !== 10 || lines % 2 !== 0) {
      refused ||= `a body of ${lines} lines${body.at(-1) === 10 ? '' : ' without its final newline'}`
      res.writeHead(400, {'content-type': 'application/json'}).end('{"error":{"type":"illegal_argument_exception"},"status":400}')
      return
    }
    received += lines / 2
    res.writeHead(200, {'content-type': 'application/json'})
    res.end(`{"errors":false,"took":1,"items":[${items.join(',')}]}`)
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
const floor = await median(() => ['export', '--dir', corpus, '--format', 'ecs-bulk', '--output', join(work, `out-${n++}.ndjson`)])
rows.push(['export --format ecs-bulk --output FILE (the _bulk floor: no HTTP)', floor, rate(floor)])
received = 0
const bulk = await median(() => ['export', '--dir', corpus, '--to', `http://127.0.0.1:${port}/_bulk`])
if (refused || received !== entries * RUNS) throw new Error(`the receiver got ${received} documents, expected ${entries * RUNS} ${refused}`)
rows.push(['export --to http://127.0.0.1/_bulk (gzip level 1, 5000 or 5 MiB a request, 2 in flight)', bulk, rate(bulk)])
const zip = await median(() => ['export', '--dir', corpus, '--archive', 'zip', '--output', join(work, `bundle-${n++}.zip`)])
rows.push(['export --archive zip (whole corpus, with verify)', zip, rate(zip)])
receiver.close()
rmSync(work, {recursive: true, force: true})

console.log(`### audit export (${entries.toLocaleString('en')} entries, median of ${RUNS})`)
console.log()
console.log('| command | seconds | rate |')
console.log('| --- | ---: | ---: |')
for (const [name, seconds, r] of rows) console.log(`| ${name} | ${seconds.toFixed(2)} | ${r} |`)

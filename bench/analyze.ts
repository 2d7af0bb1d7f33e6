/**
 * `audit analyze` on the 1,000,000-entry corpus with six labelled incidents injected
 * (bench/incidents.ts): the detectors' time (target < 3 s), whether every incident is found with
 * evidence among its injected entries, how many other findings come out, and the size of every
 * prompt sent to a fake Ollama server against --num-ctx. Prints a markdown section.
 *
 *   node --import tsx bench/analyze.ts [CORPUS_DIR] [--runs N]
 */
import {execFile, spawnSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {parseArgs, promisify} from 'node:util'

import {type AnalyzeReport, type Finding, reportSchema} from '../src/analyze/report.js'
import {startFakeOllama} from '../test/fakes/ollama.js'
import {type Incident, injectIncidents, RANGE} from './incidents.js'

const ROOT = new URL('..', import.meta.url).pathname
const BIN = join(ROOT, 'bin', 'run.js')
const {values, positionals} = parseArgs({allowPositionals: true, options: {runs: {type: 'string', default: '5'}}})
const CORPUS = positionals[0] ?? join(ROOT, 'bench', 'corpus')
const RUNS = Number(values.runs)
const OUT = `${CORPUS}-incidents`
const SLACK_MS = 10 * 60_000

if (!existsSync(join(OUT, 'incidents.json'))) {
  console.error(`injecting incidents into a copy of ${CORPUS} …`)
  await injectIncidents(CORPUS, OUT)
}
const {incidents} = JSON.parse(readFileSync(join(OUT, 'incidents.json'), 'utf8')) as {incidents: Incident[]}
const args = ['analyze', '--dir', OUT, '--since', RANGE.since, '--until', RANGE.until, '--json']

/** One run under /usr/bin/time: wall and CPU seconds, peak RSS (MiB), stdout. */
function timed(command: string[]): {wall: number; cpu: number; rss: number; stdout: string} {
  const start = process.hrtime.bigint()
  const result = spawnSync('/usr/bin/time', ['-f', '%U %S %M', ...command], {encoding: 'utf8', maxBuffer: 1 << 28})
  const wall = Number(process.hrtime.bigint() - start) / 1e9
  if (result.status !== 0) throw new Error(`${command.slice(1).join(' ')} failed: ${result.stderr}`)
  const [user, sys, kb] = result.stderr.trim().split('\n').at(-1)!.split(' ').map(Number)
  return {wall, cpu: user + sys, rss: kb / 1024, stdout: result.stdout}
}

/**
 * Each analyze run, then in the same seconds the references: `node -e 0` (start-up) and
 * `audit search --count` over the same files (reading and decoding every line), so a figure taken
 * on a busy machine can be read as a ratio.
 */
const runs: Array<{wall: number; cpu: number; rss: number}> = []
const references: Record<'node' | 'count', number[]> = {node: [], count: []}
let report: AnalyzeReport | undefined
for (let i = 0; i < RUNS; i++) {
  const run = timed([process.execPath, BIN, ...args, '--no-llm'])
  runs.push(run)
  report = reportSchema.parse(JSON.parse(run.stdout))
  references.node.push(timed([process.execPath, '-e', '0']).wall)
  references.count.push(timed([process.execPath, BIN, 'search', '--dir', OUT, '--count']).wall)
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** A finding of the incident's detector that overlaps its time and, when it injected entries, cites one. */
function matches(f: Finding, incident: Incident): boolean {
  if (f.source !== incident.detector || !f.first_seen || !f.last_seen) return false
  const overlaps =
    Date.parse(f.first_seen) <= Date.parse(incident.to) + SLACK_MS && Date.parse(f.last_seen) >= Date.parse(incident.from) - SLACK_MS
  if (!overlaps) return false
  return incident.refs.length === 0 || f.evidence.some((e) => incident.refs.includes(`${e.file}:${e.line}`))
}

const findings = report!.findings
const matched = new Set<Finding>()
const rows = incidents.map((incident) => {
  const hits = findings.filter((f) => matches(f, incident))
  for (const f of hits) matched.add(f)
  // Other detectors that also saw the incident's entries (first-seen of its actor or IP, say) are not false.
  for (const f of findings) if (f.evidence.some((e) => incident.refs.includes(`${e.file}:${e.line}`))) matched.add(f)
  return {incident, hits}
})
const others = findings.filter((f) => !matched.has(f))
const bySource = new Map<string, number>()
for (const f of others) bySource.set(f.source, (bySource.get(f.source) ?? 0) + 1)

// The prompt budget: one LLM run against the fake server, each call measured.
const fake = await startFakeOllama()
fake.defaultScript = {reply: {summary: 'bench', findings: []}}
const numCtx = 8192
const llm = await promisify(execFile)(process.execPath, [BIN, ...args, '--ollama-host', fake.url, '--num-ctx', String(numCtx)], {
  maxBuffer: 1 << 28,
})
const llmReport = reportSchema.parse(JSON.parse(llm.stdout))
const promptTokens = fake.generations.map((g) => Math.ceil(JSON.stringify(g.body.messages).length / 4))
await fake.close()

const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
console.log('## audit analyze (detectors, incident corpus)')
console.log()
console.log(
  `Corpus: ${report!.totals.entries + report!.totals.baseline_entries} entries read (${report!.totals.entries} in the analysed day, the rest its 7-day baseline), ${incidents.length} incidents injected by bench/incidents.ts. ${RUNS} runs of \`audit ${args.join(' ').replace(OUT, '…')} --no-llm\` (integrity verification included); load average at the end: ${load}.`,
)
console.log()
console.log(`| measure | value |`)
console.log(`| --- | --- |`)
console.log(`| wall time, median (target < 3 s) | ${median(runs.map((r) => r.wall)).toFixed(3)} s |`)
console.log(`| CPU time (user + sys), median | ${median(runs.map((r) => r.cpu)).toFixed(3)} s |`)
console.log(`| peak RSS, median | ${median(runs.map((r) => r.rss)).toFixed(0)} MiB |`)
console.log(
  `| same-run references, median wall | \`node -e 0\` ${median(references.node).toFixed(3)} s; \`audit search --count\` (all files) ${median(references.count).toFixed(3)} s: analyze takes ${(median(runs.map((r) => r.wall)) / median(references.count)).toFixed(2)}× |`,
)
console.log(`| incidents found with correct evidence | ${rows.filter((r) => r.hits.length > 0).length} of ${incidents.length} |`)
console.log(`| other findings (not injected) | ${others.length}: ${[...bySource].map(([s, n]) => `${s} ${n}`).join(', ') || 'none'} |`)
console.log(
  `| LLM calls for the range, --num-ctx ${numCtx} | ${llmReport.llm.calls} (${llmReport.llm.status}); largest prompt ≈ ${Math.max(...promptTokens)} tokens (4 chars a token) |`,
)
console.log()
for (const {incident, hits} of rows)
  console.log(`- ${hits.length ? 'found' : 'MISSED'}: ${incident.label}${hits.length ? ` — ${hits.map((h) => h.id).join(', ')}` : ''}`)
for (const f of others) console.log(`- other: ${f.id} (${f.severity}, count ${f.count})`)

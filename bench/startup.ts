/**
 * Start-up: `node --import tsx bench/startup.ts` prints a markdown section timing `node -e 0`,
 * `audit --version` and `audit tail -n 20` on a 10,000- and a 1,000,000-entry log (the corpora of
 * bench/run.ts, generated once into bench/corpus-10000 and bench/corpus), each against `node -e 0` in
 * the same run. The commands take turns, RUNS times each (default 21), so load from elsewhere falls on
 * all of them alike; the median and the minimum wall time are shown. BASELINE=other/bin/run.js adds
 * that build's `--version` and `tail -n 20` to the turns, to compare two builds in one run.
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {cpus} from 'node:os'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {fileURLToPath} from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BIN = join(ROOT, 'bin', 'run.js')
const RUNS = Number(process.env.RUNS ?? 21)

function corpus(entries: number): string {
  const dir = join(ROOT, 'bench', entries === 1_000_000 ? 'corpus' : `corpus-${entries}`)
  if (existsSync(dir) && readdirSync(dir).length > 0) return dir
  console.error(`generating ${entries} entries into ${dir} …`)
  const args = ['--out', dir, '--entries', String(entries), '--days', '7', '--max-file-size', '64']
  execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'generate-logs.ts'), ...args], {stdio: 'inherit'})
  return dir
}

const cases: Array<{name: string; argv: string[]}> = [
  {name: 'node -e 0', argv: ['-e', '0']},
  {name: 'audit --version', argv: [BIN, '--version']},
  {name: 'audit tail -n 20, 10k entries', argv: [BIN, 'tail', '-n', '20', '--dir', corpus(10_000)]},
  {name: 'audit tail -n 20, 1M entries', argv: [BIN, 'tail', '-n', '20', '--dir', corpus(1_000_000)]},
  // For comparison: the same answer through oclif (a flag the fast path leaves to it, matching every entry).
  {name: 'audit tail -n 20 --level debug (oclif), 1M', argv: [BIN, 'tail', '-n', '20', '--level', 'debug', '--dir', corpus(1_000_000)]},
]
const baseline = process.env.BASELINE
if (baseline)
  cases.push(
    {name: `baseline --version (${baseline})`, argv: [baseline, '--version']},
    {name: 'baseline tail -n 20, 10k entries', argv: [baseline, 'tail', '-n', '20', '--dir', corpus(10_000)]},
    {name: 'baseline tail -n 20, 1M entries', argv: [baseline, 'tail', '-n', '20', '--dir', corpus(1_000_000)]},
  )

const times = cases.map(() => [] as number[])
for (let run = 0; run < RUNS; run++) {
  cases.forEach(({name, argv}, i) => {
    const start = performance.now()
    const result = spawnSync(process.execPath, argv, {stdio: ['ignore', 'ignore', 'pipe'], env: {...process.env, NO_COLOR: '1'}})
    times[i].push(performance.now() - start)
    if (result.status !== 0) throw new Error(`${name}: exit ${result.status}: ${result.stderr}`)
  })
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const base = median(times[0])
const model = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown CPU'
const [load1] = readFileSync('/proc/loadavg', 'utf8').split(' ')
const lines = [
  '### Start-up (bench/startup.ts)',
  '',
  `${cpus().length} CPUs (nproc), ${model}, Node ${process.version}; ${RUNS} runs each, taking turns; load average ${load1} at the end. Target: within 1.5× of \`node -e 0\`.`,
  '',
  '| command | median | min | × node -e 0 (median) |',
  '| --- | --- | --- | --- |',
  ...cases.map(
    ({name}, i) =>
      `| ${name} | ${median(times[i]).toFixed(0)} ms | ${Math.min(...times[i]).toFixed(0)} ms | ${(median(times[i]) / base).toFixed(2)} |`,
  ),
]
console.log(lines.join('\n'))

/**
 * Times `audit search` (the built binary) on a corpus against jq doing the same work and against
 * `node -e 0`, the commands taking turns in each round, so the ratios hold on a busy machine even
 * when absolute times do not. Wall seconds and CPU seconds (user + system, all threads) per
 * command, medians over the rounds, and the load average at the start and end. Prints markdown.
 *
 *   node --import tsx bench/search.ts bench/corpus [--runs 5] [--baseline /work/main/bin/run.js]
 */
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {loadavg} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'

const ROOT = new URL('..', import.meta.url).pathname
const BIN = join(ROOT, 'bin', 'run.js')
const {values, positionals} = parseArgs({
  allowPositionals: true,
  options: {runs: {type: 'string', default: '5'}, baseline: {type: 'string'}},
})
const corpus = positionals[0]
if (!corpus || !existsSync(corpus) || !existsSync('/usr/bin/time')) {
  console.error('usage: bench/search.ts <corpus dir> [--runs N] [--baseline other/bin/run.js] (needs /usr/bin/time and jq)')
  process.exit(2)
}

interface Sample {
  wall: number
  cpu: number
  /** Peak RSS in KiB (of the largest process: for a pipeline, its biggest part). */
  rss: number
  out: string
}

/** One run under /usr/bin/time: wall and CPU seconds, peak RSS, and its stdout. */
function run(argv: string[]): Sample {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', ...argv], {encoding: 'utf8', maxBuffer: 1 << 28})
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`)
  const [wall, user, system, rss] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number)
  return {wall, cpu: user + system, rss, out: r.stdout}
}

const jqCount = `cat ${corpus}/*.jsonl | jq -c 'select(.event=="auth.fail")' | wc -l`
const commands: Array<[string, string[]]> = [
  ['jq -c \'select(.event=="auth.fail")\', counted', ['bash', '-c', jqCount]],
  [
    'audit search --event auth.fail --all --count',
    [process.execPath, BIN, 'search', '--event', 'auth.fail', '--all', '--count', '--dir', corpus],
  ],
  [
    'audit search --event auth.fail --all --format jsonl',
    ['bash', '-c', `${process.execPath} ${BIN} search --event auth.fail --all --format jsonl --dir ${corpus} | wc -l`],
  ],
  ['node -e 0', [process.execPath, '-e', '0']],
]
if (values.baseline)
  commands.splice(
    2,
    0,
    [
      `baseline search --count (${values.baseline})`,
      [process.execPath, values.baseline, 'search', '--event', 'auth.fail', '--all', '--count', '--dir', corpus],
    ],
    [
      'baseline search --format jsonl',
      ['bash', '-c', `${process.execPath} ${values.baseline} search --event auth.fail --all --format jsonl --dir ${corpus} | wc -l`],
    ],
  )

const samples = commands.map((): Sample[] => [])
const loadBefore = loadavg()[0]
for (let round = 0; round < Number(values.runs); round++) {
  for (const [i, [, argv]] of commands.entries()) samples[i].push(run(argv))
}
const loadAfter = loadavg()[0]

const answers = new Set(samples.slice(0, -1).map((s) => Number(s[0].out.trim())))
if (answers.size !== 1) throw new Error(`the counts differ: ${[...answers].join(', ')}`)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const jq = {wall: median(samples[0].map((s) => s.wall)), cpu: median(samples[0].map((s) => s.cpu))}

console.log(`### search (${Number(values.runs)} rounds, load average ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)})`)
console.log()
console.log('| command | wall | CPU (all threads) | jq ÷ this, wall | jq ÷ this, CPU | peak RSS |')
console.log('| --- | --- | --- | --- | --- | --- |')
commands.forEach(([name], i) => {
  const wall = median(samples[i].map((s) => s.wall))
  const cpu = median(samples[i].map((s) => s.cpu))
  const rss = Math.max(...samples[i].map((s) => s.rss)) / 1024
  console.log(
    `| ${name} | ${wall.toFixed(3)} s | ${cpu.toFixed(3)} s | ${(jq.wall / wall).toFixed(1)}× | ${(jq.cpu / cpu).toFixed(1)}× | ${rss.toFixed(0)} MiB |`,
  )
})

/**
 * `npm run bench`: times the commands on a generated 1,000,000-entry, 7-day corpus (made once,
 * outside git, in bench/corpus) against jq doing the same work, and prints a markdown report.
 * Options: --runs N (default 5), --entries N, --out FILE (also write the report there).
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {cpus, totalmem} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'

const ROOT = new URL('..', import.meta.url).pathname
const BIN = join(ROOT, 'bin', 'run.js')
const {values} = parseArgs({
  options: {runs: {type: 'string', default: '5'}, entries: {type: 'string', default: '1000000'}, out: {type: 'string'}},
})
const RUNS = Number(values.runs)
const ENTRIES = Number(values.entries)
const CORPUS = join(ROOT, 'bench', ENTRIES === 1_000_000 ? 'corpus' : `corpus-${ENTRIES}`)
const SMALL = join(ROOT, 'bench', 'corpus-100000')
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined
const out: string[] = []
const say = (line = '') => {
  out.push(line)
  console.log(line)
}

function generate(dir: string, entries: number): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) return
  console.error(`generating ${entries} entries into ${dir} …`)
  execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'scripts', 'generate-logs.ts'),
      '--out',
      dir,
      '--entries',
      String(entries),
      '--days',
      '7',
      '--max-file-size',
      '64',
    ],
    {stdio: 'inherit'},
  )
}

interface Timing {
  median: number
  min: number
  /** Peak resident set of the slowest-memory run, KiB (when /usr/bin/time is there). */
  maxRssKb?: number
  output: string
}

/** Runs a shell-free command RUNS times; median wall seconds. */
function time(argv: string[], options: {shell?: boolean; env?: NodeJS.ProcessEnv; runs?: number} = {}): Timing {
  const seconds: number[] = []
  let maxRssKb: number | undefined
  let output = ''
  for (let i = 0; i < (options.runs ?? RUNS); i++) {
    const start = process.hrtime.bigint()
    const result = options.shell
      ? spawnSync('bash', ['-c', argv[0]], {encoding: 'utf8', env: options.env, maxBuffer: 1 << 26})
      : TIME
        ? spawnSync(TIME, ['-f', '%M', ...argv], {encoding: 'utf8', env: options.env, maxBuffer: 1 << 26})
        : spawnSync(argv[0], argv.slice(1), {encoding: 'utf8', env: options.env, maxBuffer: 1 << 26})
    seconds.push(Number(process.hrtime.bigint() - start) / 1e9)
    if (result.status !== 0 && result.status !== 1) throw new Error(`${argv.join(' ')} failed: ${result.stderr}`)
    output = result.stdout
    if (TIME && !options.shell) {
      const rss = Number(result.stderr.trim().split('\n').at(-1))
      if (Number.isFinite(rss)) maxRssKb = Math.max(maxRssKb ?? 0, rss)
    }
  }
  seconds.sort((a, b) => a - b)
  return {median: seconds[Math.floor(seconds.length / 2)], min: seconds[0], maxRssKb, output}
}

const audit = (...args: string[]) => [process.execPath, BIN, ...args]
const fmt = (s: number) => `${s.toFixed(3)} s`
const mib = (kb?: number) => (kb === undefined ? 'n/a' : `${(kb / 1024).toFixed(0)} MiB`)

generate(CORPUS, ENTRIES)
generate(SMALL, 100_000)
const cpu = cpus()[0]?.model ?? 'unknown'
const corpusBytes = readdirSync(CORPUS).reduce(
  (n, f) => n + Number(execFileSync('stat', ['-c', '%s', join(CORPUS, f)], {encoding: 'utf8'})),
  0,
)
const hasJq = spawnSync('jq', ['--version']).status === 0

say(`## Run of ${new Date().toISOString().slice(0, 10)}`)
say()
say(
  `Machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}${hasJq ? `, ${execFileSync('jq', ['--version'], {encoding: 'utf8'}).trim()}` : ''}.`,
)
say(
  `Corpus: ${ENTRIES.toLocaleString('en')} entries over 7 days, ${(corpusBytes / 2 ** 20).toFixed(0)} MiB in ${readdirSync(CORPUS).length} files (scripts/generate-logs.ts). Median of ${RUNS} runs, wall clock, page cache warm.`,
)
say()
say('| work | auditkit | jq | ratio | peak RSS |')
say('| --- | --- | --- | --- | --- |')

const cacheHome = join(ROOT, 'bench', '.cache')
rmSync(cacheHome, {recursive: true, force: true})
const cold = time(audit('summary', '--all', '--json', '--no-cache', '--dir', CORPUS))
const warmEnv = {...process.env, XDG_CACHE_HOME: cacheHome}
time(audit('summary', '--all', '--json', '--dir', CORPUS), {env: warmEnv}) // fills the cache
const warm = time(audit('summary', '--all', '--json', '--dir', CORPUS), {env: warmEnv})
// A default (last 24 hours) run first must not evict the other days: --all right after it stays warm.
const afterDefaultRuns: Timing[] = []
for (let i = 0; i < RUNS; i++) {
  spawnSync(process.execPath, [BIN, 'summary', '--json', '--dir', CORPUS], {env: warmEnv, stdio: 'ignore'})
  afterDefaultRuns.push(time(audit('summary', '--all', '--json', '--dir', CORPUS), {env: warmEnv, runs: 1}))
}
const afterDefault = afterDefaultRuns.sort((a, b) => a.median - b.median)[Math.floor(RUNS / 2)]
const search = time(audit('search', '--event', 'auth.fail', '--all', '--count', '--dir', CORPUS))
const tail = time(audit('tail', '-n', '20', '--dir', CORPUS))
const help = time(audit('--help'))
const version = time(audit('--version'))

let jqSummary: Timing | undefined
let jqSearch: Timing | undefined
if (hasJq) {
  jqSummary = time([`cat ${CORPUS}/*.jsonl | jq -r .event | sort | uniq -c`], {shell: true})
  jqSearch = time([`cat ${CORPUS}/*.jsonl | jq -c 'select(.event=="auth.fail")' | wc -l`], {shell: true})
  const ours = Number(search.output.trim())
  const theirs = Number(jqSearch.output.trim())
  if (ours !== theirs) throw new Error(`search count ${ours} differs from jq's ${theirs}`)
}
const ratio = (a: Timing, b?: Timing) => (b ? `${(b.median / a.median).toFixed(1)}× faster` : 'n/a')
say(
  `| summary --all, no cache | ${fmt(cold.median)} | ${jqSummary ? fmt(jqSummary.median) : 'n/a'} | ${ratio(cold, jqSummary)} | ${mib(cold.maxRssKb)} |`,
)
say(
  `| summary --all, cache warm | ${fmt(warm.median)} | ${jqSummary ? fmt(jqSummary.median) : 'n/a'} | ${ratio(warm, jqSummary)} | ${mib(warm.maxRssKb)} |`,
)
say(
  `| summary --all right after a default-range run, cache warm | ${fmt(afterDefault.median)} | ${jqSummary ? fmt(jqSummary.median) : 'n/a'} | ${ratio(afterDefault, jqSummary)} | ${mib(afterDefault.maxRssKb)} |`,
)
say(
  `| search --event auth.fail --all --count | ${fmt(search.median)} | ${jqSearch ? fmt(jqSearch.median) : 'n/a'} | ${ratio(search, jqSearch)} | ${mib(search.maxRssKb)} |`,
)
say(`| tail -n 20 | ${fmt(tail.median)} | | | ${mib(tail.maxRssKb)} |`)
say(`| --help | ${fmt(help.median)} | | | ${mib(help.maxRssKb)} |`)
say(`| --version | ${fmt(version.median)} | | | ${mib(version.maxRssKb)} |`)
say()

// Memory must not grow with log size: the same commands on a tenth of the corpus.
const smallCold = time(audit('summary', '--all', '--json', '--no-cache', '--dir', SMALL))
const smallSearch = time(audit('search', '--event', 'auth.fail', '--all', '--count', '--dir', SMALL))
say(
  `Peak RSS at 100,000 vs ${ENTRIES.toLocaleString('en')} entries: summary ${mib(smallCold.maxRssKb)} vs ${mib(cold.maxRssKb)}; search ${mib(smallSearch.maxRssKb)} vs ${mib(search.maxRssKb)}.`,
)
say()

// The other areas' benchmarks, when present, print their own sections.
for (const script of ['tail.ts', 'verify.ts', 'write.ts', 'syslog.ts', 'analyze.ts', 'export.ts', 'proxy.ts']) {
  const path = join(ROOT, 'bench', script)
  if (!existsSync(path)) continue
  const result = spawnSync(process.execPath, ['--import', 'tsx', path, CORPUS], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']})
  if (result.status !== 0) throw new Error(`bench/${script} failed`)
  for (const line of result.stdout.trimEnd().split('\n')) say(line)
  say()
}

if (values.out) writeFileSync(values.out, `${out.join('\n')}\n`)

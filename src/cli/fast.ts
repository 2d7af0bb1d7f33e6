import {readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {arch, platform, release} from 'node:os'
import {type ParseArgsConfig, parseArgs} from 'node:util'

import type {Config} from '../config/schema.js'
import type {Encoder} from '../formats/codec.js'

/**
 * The start-up fast path of bin/run.js: `audit --version`, `audit tail` with its common flags and
 * `audit search --count` with --event/--actor, answered without loading oclif (its module graph is
 * most of a command's start-up). Anything else — another command, another flag, help, a value it
 * does not read exactly as oclif would, and every error or problem — answers false before anything is written, and oclif runs the same argv from the
 * start. So flags, help, errors and exit codes are oclif's by construction
 * (test/cli/fast-path.test.ts compares the two paths).
 */
export async function runFast(argv: string[]): Promise<boolean> {
  let print: (() => Promise<void>) | undefined
  try {
    if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) return printVersion()
    if (argv[0] === 'tail') print = await prepareTail(argv.slice(1))
    else if (argv[0] === 'search') print = await prepareSearchCount(argv.slice(1))
    else if (argv[0] === 'summary') print = await (await import('./fast-summary.js')).prepareSummary(argv.slice(1))
  } catch {
    // Whatever went wrong, oclif says it (and says it the same way as always).
  }
  if (!print) return false
  // Output may begin from here, so nothing goes back to oclif. Every answer is encoded already, and
  // stdout's own failures are guardStdout's (exit 3; a closed pipe is quiet): what is left is a bug.
  try {
    await print()
  } catch (error) {
    const {sanitizeLine} = await import('../text/sanitize.js')
    process.stderr.write(`${sanitizeLine(`audit ${argv[0]}: internal error: ${(error as Error).message} (DEBUG=* shows the stack)`)}\n`)
    process.exitCode = 70
  }
  return true
}

/** oclif's user agent: name/version platform-arch node-version. */
function printVersion(): boolean {
  // oclif says "wsl" there; this path does not try to.
  if (platform() === 'linux' && release().toLowerCase().includes('microsoft')) return false
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {name: string; version: string}
  const cpu = arch() === 'ia32' ? 'x86' : arch()
  // stdout's guard (one line and exit 3 on a full disk) is loaded only if writing fails: its
  // imports would cost more than the rest of this path. The error comes on a later tick.
  process.stdout.once('error', async (error) => {
    const {guardStdout} = await import('./stdout-guard.js')
    guardStdout()
    process.stdout.emit('error', error)
  })
  process.stdout.write(`${pkg.name}/${pkg.version} ${platform()}-${cpu} node-${process.version}\n`)
  return true
}

/** A token of parseArgs (its `tokens` option). */
type Token = NonNullable<ReturnType<typeof parseArgs>['tokens']>[number]

/**
 * Whether argv is spelled so that oclif surely reads it the same: each option once (those in
 * `repeatable` as often as given), no positionals, no `-n5`, no empty value nor one starting with `-`.
 */
function plainSpelling(tokens: Token[], repeatable: string[] = []): boolean {
  const seen = new Set<string>()
  for (const token of tokens) {
    if (token.kind !== 'option') return false
    if (seen.has(token.name) && !repeatable.includes(token.name)) return false
    seen.add(token.name)
    if (token.rawName.length === 2 && token.inlineValue) return false
    if (token.value !== undefined && (token.value === '' || token.value.startsWith('-'))) return false
  }
  return true
}

/** The global flags (src/cli/base.ts) that the fast paths read. */
const GLOBAL_OPTIONS = {
  dir: {type: 'string', short: 'd'},
  config: {type: 'string'},
  'no-color': {type: 'boolean'},
} as const

/** What plainFlags reads: the values parseArgs gives for these options and the global ones. */
type PlainFlags<O extends NonNullable<ParseArgsConfig['options']>> = ReturnType<
  typeof parseArgs<{args: string[]; strict: true; allowPositionals: false; tokens: true; options: O & typeof GLOBAL_OPTIONS}>
>['values']

/**
 * A fast path's flags and the global ones, read only when plainly spelled (plainSpelling), else
 * undefined; an unknown flag or a positional throws, which hands the argv to oclif.
 */
export function plainFlags<const O extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: O,
  repeatable: string[] = [],
): PlainFlags<O> | undefined {
  const {values, tokens} = parseArgs({args, strict: true, allowPositionals: false, tokens: true, options: {...options, ...GLOBAL_OPTIONS}})
  return plainSpelling(tokens, repeatable) ? values : undefined
}

/**
 * The configuration as the command would load it (flags > environment > file > defaults), or
 * undefined when sealed privacy fields are configured: those are revealed by the full command
 * (src/cli/privacy.ts), and --actor matches them by blind index.
 */
export async function plainConfig(flags: {dir?: string; config?: string}): Promise<Config | undefined> {
  const {loadConfig} = await import('../config/load.js')
  const {config} = loadConfig({file: flags.config, overrides: flags.dir ? {dir: flags.dir} : {}})
  return config.privacy.fields.length > 0 ? undefined : config
}

/**
 * `audit search --count` with only --event, --actor, --all and the global flags: the number of
 * matches, counted on every core (store/count.ts); undefined (oclif's to answer) for anything else,
 * when nothing matched (oclif adds its notes) and when counting met a problem.
 */
async function prepareSearchCount(args: string[]): Promise<(() => Promise<void>) | undefined> {
  const flags = plainFlags(
    args,
    {
      count: {type: 'boolean', short: 'c'},
      all: {type: 'boolean'},
      event: {type: 'string', short: 'e', multiple: true},
      actor: {type: 'string', short: 'a', multiple: true},
    },
    ['event', 'actor'],
  )
  if (!flags?.count) return undefined
  const [{countMatches, startCountWorkers}, {Diagnostics}] = await Promise.all([
    import('../store/count.js'),
    import('../store/diagnostics.js'),
  ])
  // Required, not import()ed: from this CommonJS bundle import() would start the ESM loader.
  const {setFlagsFromString} = createRequire(import.meta.url)('node:v8') as typeof import('node:v8')
  // A count is over in a few tenths of a second, and inlining into its byte matchers made V8's
  // optimizing compiler cost (on the same cores, in every thread) more than the faster code earned
  // back in that time (BENCHMARKS.md, session 9). Set before the worker starts and any of it runs;
  // a count handed on to oclif runs with it too, which changes its speed only.
  setFlagsFromString('--no-turbo-inlining')
  // Booting while the configuration is read and the log listed: countMatches takes them over.
  const workers = startCountWorkers()
  let config: Config | undefined
  try {
    config = await plainConfig(flags)
  } finally {
    if (!config) await workers.close()
  }
  if (!config) return undefined
  const diagnostics = new Diagnostics()
  // The spec filterSpecFromFlags gives for these flags (search has no default --since).
  const filter = {
    since: undefined,
    until: undefined,
    events: flags.event,
    level: undefined,
    actors: flags.actor,
    where: undefined,
    grep: undefined,
  }
  const found = await countMatches(config.dir, {filter, diagnostics, workers})
  if (found === 0 || diagnostics.lines().length > 0) return undefined
  const {guardStdout} = await import('./stdout-guard.js')
  return async () => {
    guardStdout('audit search')
    process.stdout.write(`${found}\n`)
  }
}

/** The formats this path writes, and their codecs' framings; the others (and their options) go through oclif. */
const FAST_FORMATS: Record<string, 'newline' | 'json-array' | 'crlf'> = {
  pretty: 'newline',
  jsonl: 'newline',
  json: 'json-array',
  csv: 'crlf',
}

/**
 * `audit tail` without --follow, --forward or filters: the last N entries, read and encoded, ready
 * to print; undefined (oclif's to answer) for anything else and when reading them met a problem.
 */
async function prepareTail(args: string[]): Promise<(() => Promise<void>) | undefined> {
  // Only the spellings oclif surely reads the same: each flag once, `-n 5`, `--lines 5`, `--lines=5`.
  const flags = plainFlags(args, {lines: {type: 'string', short: 'n'}, format: {type: 'string', short: 'o'}})
  if (!flags) return undefined
  const lines = flags.lines === undefined ? 20 : /^(0|[1-9]\d{0,8})$/.test(flags.lines) ? Number(flags.lines) : undefined
  const formatName = flags.format ?? 'pretty'
  if (lines === undefined || !Object.hasOwn(FAST_FORMATS, formatName)) return undefined

  const config = await plainConfig(flags)
  if (!config) return undefined
  const [{listLogFiles}, {readLastEntries}, {Diagnostics}] = await Promise.all([
    import('../store/files.js'),
    import('../store/tail.js'),
    import('../store/diagnostics.js'),
  ])
  // Without filter flags tail's filter matches every entry (compileFilter of filterSpecFromFlags'
  // spec): reading without one gives the same entries, and spares loading the filter's modules.
  const diagnostics = new Diagnostics()
  const files = await listLogFiles(config.dir)
  // No log file (a note to print) or a problem met while reading (lines, maybe exit 3): oclif's to say.
  if (files.length === 0) return undefined
  // csv shows line numbers: counted from the start of the file, as oclif's tail does.
  const {entries} = await readLastEntries(files, lines, {diagnostics, numberLines: formatName === 'csv'})
  if (diagnostics.lines().length > 0) return undefined

  // The codecs' encoders without the codecs (whose option schemas would load zod), only the one used.
  const [{guardStdout}, {StreamSink: Output}, {FRAMINGS}, encoder] = await Promise.all([
    import('./stdout-guard.js'),
    import('../transport/stream.js'),
    import('../formats/framing.js'),
    formatName === 'csv' ? import('../formats/csv-cells.js').then((m) => m.csvEncoder) : textEncoder(formatName, flags['no-color']),
  ])
  const frame = FRAMINGS[FAST_FORMATS[formatName]]
  const begin = (encoder.begin ?? '') + frame.begin
  const records = entries.map((located, index) => frame.frame(encoder.encode(located), index))
  return async () => {
    guardStdout('audit tail')
    const out = new Output()
    if (begin) await out.write(begin)
    for (const record of records) await out.write(record)
    if (frame.end) await out.write(frame.end)
    await out.flush()
  }
}

/** The encoder of the pretty, jsonl or json format, as their codecs make it. */
async function textEncoder(formatName: string, noColor: boolean | undefined): Promise<Encoder> {
  const [{loadPaint}, {prettyEncoder, entryJson}] = await Promise.all([import('../formats/paint.js'), import('../formats/entry-text.js')])
  if (formatName !== 'pretty') return entryJson
  return prettyEncoder({paint: await loadPaint(!noColor && !process.env.NO_COLOR && Boolean(process.stdout.isTTY))})
}

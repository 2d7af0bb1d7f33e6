import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'

import {chainedLines, ROOT, type RunResult, runAudit, tempDir, writeLog} from '../helpers.js'

// bin/run.js answers `--version`, a plain `tail`, `search --count` and a plain `summary` without oclif (src/cli/fast.ts,
// run from its CommonJS bundle dist/cli/fast.cjs). Every argv here is run both ways, through bin/run.js and through
// oclif alone, and must give the same stdout, stderr and exit code; the common ones must really take the fast path.
const OCLIF_ONLY = [process.execPath, join(ROOT, 'test', 'cli', 'fast-path', 'oclif-only.mjs')]
const PROBE = join(ROOT, 'test', 'cli', 'fast-path', 'probe.mjs')

const home = tempDir('fast-home-')
const logs = join(home, 'logs')
const entries = Array.from({length: 30}, (_, i) => ({
  timestamp: `2026-03-01T10:${String(i).padStart(2, '0')}:00.000Z`,
  event: i % 3 === 0 ? 'auth.fail' : 'user.login',
  level: i % 3 === 0 ? ('warning' as const) : ('info' as const),
  actor: i % 2 ? 'alice' : 'bob\u001b[31m',
  details: {n: i, note: 'tab\there'},
}))
writeLog(logs, 'audit-2026-03-01.jsonl', chainedLines(entries).lines)
const configFile = join(home, 'config.yaml')
writeFileSync(configFile, `dir: ${logs}\n`)
const broken = join(home, 'broken')
writeLog(broken, 'audit-2026-03-01.jsonl', [...chainedLines(entries.slice(0, 3)).lines, '{"not": "an entry"'])
const empty = tempDir('fast-empty-')
const badConfig = join(home, 'bad.yaml')
writeFileSync(badConfig, 'dir: [1, 2]\n')

async function bothWays(args: string[]): Promise<{fast: RunResult; oclif: RunResult; path: string}> {
  const probe = join(tempDir('fast-probe-'), 'path')
  const env = {NODE_OPTIONS: `--import=${PROBE}`, FAST_PATH_PROBE: probe}
  const [fast, oclif] = await Promise.all([runAudit(args, {env}), runAudit(args, {wrapper: OCLIF_ONLY})])
  return {fast, oclif, path: readFileSync(probe, 'utf8')}
}

/** Taken by the fast path: the answer oclif gives, without loading it. */
const FAST: string[][] = [
  ['--version'],
  ['-v'],
  ['tail', '--dir', logs],
  ['tail', '-d', logs, '-n', '5'],
  ['tail', '--dir', logs, '--lines', '3'],
  ['tail', `--dir=${logs}`, '--lines=3'],
  ['tail', '--dir', logs, '-n', '0'],
  ['tail', '--dir', logs, '-n', '100'],
  ['tail', '--dir', logs, '-n', '4', '--format', 'jsonl'],
  ['tail', '--dir', logs, '-n', '4', '-o', 'json'],
  ['tail', '--dir', logs, '--no-color', '-n', '2'],
  ['tail', '--config', configFile, '-n', '2'],
  ['tail', '--dir', logs, '-n', '5', '--format', 'csv'],
  ['tail', '--dir', logs, '-o', 'csv', '-n', '0'],
  ['search', '--dir', logs, '--count', '--event', 'auth.fail'],
  ['search', '-d', logs, '-c', '-e', 'auth.*', '-e', 'user.login', '--all'],
  ['search', `--dir=${logs}`, '--count', '--actor', 'alice', '--actor=bob\u001b[31m'],
  ['search', '--config', configFile, '--count', '--event', 'user.login', '--actor', 'alice', '--no-color'],
  ['search', '--dir', logs, '--count'],
  ['summary', '--all', '--json', '--dir', logs],
  ['summary', '--all', '--dir', logs, '--no-color'],
  ['summary', '--dir', logs, '--json', '--no-cache'],
  ['summary', `--dir=${logs}`],
  ['summary', '--config', configFile, '--all', '--json'],
]

/** Help, other flags, bad input and problems: oclif's, through bin/run.js as through oclif alone. */
const OCLIF: string[][] = [
  ['--help'],
  ['version'],
  ['--version', 'x'],
  ['tail', '--help'],
  ['tail', '-h'],
  ['help', 'tail'],
  ['tail', '--dir', logs, '-n', '100', '--event', 'auth.*'],
  ['tail', '--dir', logs, '--level', 'warning'],
  ['tail', '--dir', logs, '-o', 'csv', '--facility', 'local0'],
  ['tail', '--dir', logs, '--version'],
  ['tail', '--dir', logs, '-n', '-1'],
  ['tail', '--dir', logs, '-n', 'abc'],
  ['tail', '--dir', logs, '-n', '1.5'],
  ['tail', '--dir', logs, '-n'],
  ['tail', '--dir', logs, '-n5'],
  ['tail', '--dir', logs, '-n', '007'],
  ['tail', '--dir', logs, '-n', '5', '-n', '6'],
  ['tail', '--dir', logs, '--format', 'bogus'],
  ['tail', '--dir', logs, '--no-color=yes'],
  ['tail', '--dir', logs, '-x'],
  ['tail', '--dir', logs, 'extra'],
  ['tail', '--dir', logs, '--', '-n', '3'],
  ['tail', '--dir', ''],
  ['tail', '--dir', join(home, 'missing')],
  ['tail', '--dir', configFile],
  ['tail', '--dir', empty],
  ['tail', '--dir', broken],
  ['tail', '--config', badConfig],
  ['tail', '--config', join(home, 'missing.yaml')],
  ['tail', '--dir', logs, '--forward-format', 'rfc3164'],
  ['search', '--dir', logs, '--event', 'auth.fail'],
  ['search', '--dir', logs, '--count', '--event', 'no.such'],
  ['search', '--dir', logs, '--count', '--event', 'auth.fail', 'user.login'],
  ['search', '--dir', logs, '--count', '--event', ''],
  ['search', '--dir', logs, '--count', '--event', 'auth.fail', '--level', 'warning'],
  ['search', '--dir', logs, '--count', '--event', 'auth.fail', '--limit', '2'],
  ['search', '--dir', logs, '--count', '--count'],
  ['search', '--dir', logs, '-c', '--all', '--since', '1h'],
  ['search', '--dir', broken, '--count'],
  ['search', '--dir', empty, '--count'],
  ['search', '--dir', join(home, 'missing'), '--count'],
  ['search', '--config', badConfig, '--count'],
  ['search', '--help'],
  ['summary', '--help'],
  ['summary', '--all', '--all', '--dir', logs],
  ['summary', '--all', '--top', '3', '--dir', logs],
  ['summary', '--all', '--event', 'auth.*', '--dir', logs],
  ['summary', '--all', '--since', '2026-03-01', '--dir', logs],
  ['summary', '--all', '--local', '--dir', logs],
  ['summary', '--all', '--dir', broken],
  ['summary', '--all', '--dir', empty],
  ['summary', '--all', '--dir', join(home, 'missing')],
  ['summary', '--all', '--dir', ''],
  ['summary', '--all', '--config', badConfig],
  ['summary', '--all', '--json', '--dir', logs, 'extra'],
]

for (const args of FAST) {
  test(`fast path: audit ${args.join(' ')}`, async () => {
    const {fast, oclif, path} = await bothWays(args)
    assert.equal(path, 'fast', 'answered without oclif')
    assert.equal(fast.code, 0, fast.stderr)
    assert.deepEqual(fast, oclif)
  })
}

for (const args of OCLIF) {
  test(`oclif path: audit ${args.join(' ')}`, async () => {
    const {fast, oclif, path} = await bothWays(args)
    assert.equal(path, 'oclif', 'handed to oclif')
    assert.deepEqual(fast, oclif)
  })
}

test('the fast tail prints what oclif prints, log text stripped of escapes', async () => {
  const {fast} = await bothWays(['tail', '--dir', logs, '-n', '3'])
  assert.equal(fast.stdout.trim().split('\n').length, 3)
  assert.doesNotMatch(fast.stdout, /\u001b/)
  assert.match(fast.stdout, /user\.login/)
})

for (const [args, speaker] of [
  [['tail', '--dir', logs, '-n', '5'], 'audit tail'],
  [['summary', '--all', '--json', '--dir', logs], 'audit summary'],
  [['--version'], 'audit'],
] as const) {
  test(`stdout that cannot be written: audit ${args[0]} says the same one line and exits 3 both ways`, async () => {
    const toFull = ['sh', '-c', 'exec "$@" >/dev/full', 'sh']
    const [fast, oclif] = await Promise.all([
      runAudit([...args], {wrapper: toFull}),
      runAudit([...args], {wrapper: [...toFull, ...OCLIF_ONLY]}),
    ])
    assert.equal(fast.code, 3)
    assert.match(fast.stderr, new RegExp(`^${speaker}: error: standard output: .+\\n$`))
    assert.deepEqual(fast, oclif)
  })
}

import assert from 'node:assert/strict'
import {cpSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {ROOT, runAudit, tempDir} from '../helpers.js'
import {makeKeys} from '../library-setup.js'

/** Runs the binary with standard output on /dev/full, where every write fails with ENOSPC. */
const toFullDisk = {wrapper: ['sh', '-c', 'exec "$@" > /dev/full', 'sh']}
/** Runs the binary with standard output a pipe whose reader has already gone. */
const toClosedPipe = {wrapper: ['sh', '-c', 'exec 3>&1; "$@" | true', 'sh']}

function copyOfExamples(): string {
  const dir = join(tempDir('out-fail-'), 'logs')
  cpSync(join(ROOT, 'examples', 'logs'), dir, {recursive: true})
  return dir
}

describe('standard output that cannot be written: one line, exit 3, for every command', () => {
  const logs = join(ROOT, 'examples', 'logs')
  const cases: Array<[string, () => Promise<string[]>]> = [
    ['search', async () => ['search', '--dir', logs]],
    ['search --count', async () => ['search', '--dir', logs, '--count']],
    ['tail', async () => ['tail', '--dir', logs]],
    ['summary', async () => ['summary', '--dir', logs, '--all']],
    ['summary --json', async () => ['summary', '--dir', logs, '--all', '--json']],
    ['verify', async () => ['verify', '--dir', logs]],
    ['keygen --json', async () => ['keygen', '--out', join(tempDir('out-fail-key-'), 'k'), '--json']],
    ['log --json', async () => ['log', 'app.start', '--dir', tempDir('out-fail-log-'), '--json']],
    ['completion', async () => ['completion', 'bash']],
    [
      'seal',
      async () => {
        const {key} = await makeKeys()
        return ['seal', '--dir', copyOfExamples(), '--key', key]
      },
    ],
  ]
  for (const [name, args] of cases) {
    it(`${name} > /dev/full`, async () => {
      const argv = await args()
      const command = argv[0]
      const r = await runAudit(argv, {...toFullDisk, cwd: ROOT, timeoutMs: 120_000})
      assert.equal(r.code, 3, r.stderr)
      assert.equal(r.stderr, `audit ${command}: error: standard output: no space left on device\n`)
    })
  }

  for (const args of [['--help'], ['search', '--help'], ['help', 'search'], ['--version'], ['version']]) {
    it(`audit ${args.join(' ')} > /dev/full (before any command runs)`, async () => {
      const r = await runAudit(args, toFullDisk)
      assert.equal(r.code, 3, r.stderr)
      assert.match(r.stderr, /^audit( \w+)?: error: standard output: no space left on device\n$/)
    })
  }

  it('a closed pipe stays quiet (| head), for the commands that write once as well as the streaming ones', async () => {
    for (const argv of [
      ['summary', '--dir', logs, '--all', '--json'],
      ['search', '--dir', logs],
    ]) {
      const r = await runAudit(argv, {...toClosedPipe, cwd: ROOT, timeoutMs: 120_000})
      assert.equal(r.stderr, '', argv.join(' '))
    }
  })
})

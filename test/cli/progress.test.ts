import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {BIN, ROOT, runAudit} from '../helpers.js'

const logs = join(ROOT, 'examples', 'logs')

/** Runs the binary with a terminal (a pty from util-linux script) as stderr; stdout goes nowhere. */
function onTerminal(args: string[]): string {
  const command = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ')
  const r = spawnSync('script', ['-qec', `${command} > /dev/null`, '/dev/null'], {
    encoding: 'utf8',
    cwd: ROOT,
    env: {...process.env, XDG_CACHE_HOME: join(ROOT, 'node_modules', '.cache', 'progress-test')},
  })
  assert.equal(r.status, 0, r.stderr)
  return r.stdout
}

describe('progress on stderr: on a terminal only, and erased', () => {
  for (const [name, args, frame] of [
    ['verify', ['verify', '--dir', logs], /\r\u001B\[Kverifying: \d+ entries, file 1\/13/],
    ['summary --no-cache', ['summary', '--dir', logs, '--all', '--no-cache'], /\r\u001B\[Ksummarizing: file 1\/13/],
  ] as const) {
    it(name, async () => {
      const terminal = onTerminal([...args])
      assert.match(terminal, frame)
      assert.ok(terminal.endsWith('\r\u001B[K'), 'the line is erased at the end')
      const piped = await runAudit([...args])
      assert.equal(piped.code, 0)
      assert.equal(piped.stderr, '', 'nothing in a pipe or a cron mail')
    })
  }
})

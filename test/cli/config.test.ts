import assert from 'node:assert/strict'
import {test} from 'node:test'

import {runAudit, tempDir} from '../helpers.js'

// The binary's side of config loading (test/unit/config.test.ts has the library's).
test('an endless config (--config /dev/zero, $AUDIT_CONFIG=/dev/zero) is refused after 1 MiB, naming it, in bounded memory', async () => {
  // Read whole, it grew without limit; under a data limit that would be a crash, not exit 2.
  const options = {wrapper: ['prlimit', `--data=${300 * 1024 * 1024}`]}
  const dir = tempDir()
  for (const [args, env] of [
    [['--config', '/dev/zero'], {}],
    [[], {AUDIT_CONFIG: '/dev/zero'}],
  ] as const) {
    const r = await runAudit(['search', '--dir', dir, ...args], {...options, env})
    assert.equal(r.code, 2, r.stderr)
    assert.equal(r.stderr, 'audit search: error: config /dev/zero: over 1048576 bytes, more than a config file may hold\n')
  }
})

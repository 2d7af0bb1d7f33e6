import assert from 'node:assert/strict'
import {once} from 'node:events'
import {closeSync, openSync, readSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'

import {verifyDirectory} from '../../src/integrity/verify.js'
import {AuditWriter} from '../../src/store/writer.js'
import {tempDir} from '../helpers.js'
import {checkChain, exited, startChild} from './writer-support.js'

/** True when the file's last byte is not LF: a write was cut mid-line. */
function endsMidLine(path: string): boolean {
  const size = statSync(path, {throwIfNoEntry: false})?.size
  if (!size) return false
  const fd = openSync(path, 'r')
  try {
    const last = Buffer.alloc(1)
    readSync(fd, last, 0, 1, size - 1)
    return last[0] !== 10
  } finally {
    closeSync(fd)
  }
}

describe('crash safety', () => {
  it('a writer killed with SIGKILL mid-append, repeatedly: after restart only recorded torn lines, one chain', {timeout: 60_000}, async (t) => {
    const dir = tempDir('crash-')
    // At least 6 kills, and more (up to 30) until one has landed mid-line, so the test proves recovery.
    let rounds = 0
    let tornSeen = 0
    for (; rounds < 30 && (rounds < 6 || tornSeen === 0); rounds++) {
      // Each start of a writer recovers what the previous kill left (the child opens a writer first).
      const child = startChild({CHILD_MODE: 'flood', CHILD_DIR: dir, CHILD_MAX_FILE_SIZE: '8'})
      const done = exited(child)
      await once(child.stdout!, 'data')
      await sleep(50 + Math.random() * 150)
      // Kill as soon as the live file is seen growing: a multi-megabyte write(2) is then in progress.
      const live = join(dir, `audit-${new Date().toISOString().slice(0, 10)}.jsonl`)
      const size = () => statSync(live, {throwIfNoEntry: false})?.size
      const before = size()
      for (const until = Date.now() + 3000; size() === before && Date.now() < until;);
      child.kill('SIGKILL')
      await done
      if (endsMidLine(live)) tornSeen++
    }
    const writer = await AuditWriter.open(dir)
    await writer.write({event: 'test.after', details: {}})
    await writer.close()

    const check = await checkChain(dir)
    assert.deepEqual(check.problems, [])
    const recoveries = check.entries.filter((e) => e.event === 'audit.recovery')
    assert.ok(tornSeen > 0, 'no kill landed mid-line')
    assert.equal(recoveries.length, check.recorded, 'one recovery event per torn line')
    assert.ok(check.recorded >= tornSeen, `${tornSeen} torn lines seen, ${check.recorded} recorded`)
    assert.equal(check.entries.at(-1)?.event, 'test.after')
    const report = await verifyDirectory(dir, {threads: 0})
    assert.equal(report.valid, true, JSON.stringify(report.problems.slice(0, 3)))
    t.diagnostic(`${rounds} kills, ${check.recorded} torn lines recorded, ${check.entries.length} entries`)
  })
})

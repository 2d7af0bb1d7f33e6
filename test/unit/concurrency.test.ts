import assert from 'node:assert/strict'
import {readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {AuditWriter} from '../../src/index.js'
import {verifyDirectory} from '../../src/integrity/verify/index.js'
import {tempDir} from '../helpers.js'
import {checkChain, exited, startChild} from './writer-support.js'

// The limits are for a hang, not for speed: eight child starts (node, tsx, the library: ~2.5 s of
// CPU each) and 4,000 locked appends took 60-95 s on a 2-core machine at load 24, and the
// in-process test 34 s, past the 60 s and 30 s they had.
describe('concurrent writers', () => {
  it('8 processes x 500 appends across midnight and size rotation: one chain of 4,000, none lost or repeated', {
    timeout: 300_000,
  }, async () => {
    const dir = tempDir('conc-')
    // Each process's clock starts 250 ms before midnight and advances 1 ms per append, so they
    // cross midnight at different moments while interleaving: where loki-mode's writer forks.
    const children = Array.from({length: 8}, () =>
      startChild({
        CHILD_MODE: 'append',
        CHILD_DIR: dir,
        CHILD_COUNT: '500',
        CHILD_CLOCK_START: '2030-01-01T23:59:59.750Z',
        CHILD_MAX_FILE_SIZE: '0.02',
      }),
    )
    await Promise.all(children.map((c) => exited(c)))

    const check = await checkChain(dir)
    assert.deepEqual(check.problems, [])
    assert.equal(check.entries.length, 4000)
    const seen = new Map<number, number>()
    for (const e of check.entries) {
      const {pid, seq} = e.details as {pid: number; seq: number}
      // Per process, in its own order, each exactly once.
      assert.equal(seq, seen.get(pid) ?? 0, `pid ${pid}: expected seq ${seen.get(pid) ?? 0}, got ${seq}`)
      seen.set(pid, seq + 1)
    }
    assert.deepEqual([...seen.values()], Array(8).fill(500))
    const report = await verifyDirectory(dir, {threads: 0})
    assert.equal(report.valid, true, JSON.stringify(report.problems.slice(0, 3)))

    const names = readdirSync(dir).filter((n) => n.startsWith('audit-'))
    assert.ok(
      names.some((n) => /^audit-2030-01-01\.\d{3}\.jsonl$/.test(n)),
      `size-rotated parts on day 1: ${names}`,
    )
    assert.ok(
      names.some((n) => /^audit-2030-01-02\.\d{3}\.jsonl$/.test(n)),
      `size-rotated parts on day 2: ${names}`,
    )
    assert.ok(names.includes('audit-2030-01-02.jsonl') && names.includes('audit-2030-01-01.jsonl'))
    // Once a day-2 file exists nothing goes back to day 1, whatever a process's clock says.
    const firstDay2 = check.lines.findIndex((l) => l.file.startsWith('audit-2030-01-02'))
    assert.ok(check.lines.slice(firstDay2).every((l) => l.file.startsWith('audit-2030-01-02')))
    for (const n of names) assert.equal(statSync(join(dir, n)).mode & 0o777, n === 'audit-2030-01-02.jsonl' ? 0o600 : 0o400, n)
  })

  it('several writers in one process, each with many callers at once: one chain', {timeout: 120_000}, async () => {
    const dir = tempDir('conc-')
    const writers = await Promise.all(Array.from({length: 4}, () => AuditWriter.open(dir, {max_file_size: 0.01, compress: true})))
    await Promise.all(writers.flatMap((w, k) => Array.from({length: 300}, (_, i) => w.write({event: 'test.inproc', details: {k, i}}))))
    await Promise.all(writers.map((w) => w.close()))
    const check = await checkChain(dir)
    assert.deepEqual(check.problems, [])
    assert.equal(check.entries.length, 1200)
    assert.equal(new Set(check.entries.map((e) => `${e.details.k}/${e.details.i}`)).size, 1200)
    assert.ok(
      readdirSync(dir).some((n) => n.endsWith('.jsonl.gz')),
      'closed parts were gzipped',
    )
  })
})

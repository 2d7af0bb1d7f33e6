import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {chmodSync, existsSync, linkSync, readdirSync, readFileSync, statSync, unlinkSync, utimesSync, writeFileSync} from 'node:fs'
import {hostname, uptime} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {gzipSync} from 'node:zlib'

import {AuditWriter, LockTimeoutError, WriteInputError} from '../../src/index.js'
import {verifyDirectory} from '../../src/integrity/verify/index.js'
import {listLogFiles} from '../../src/store/files.js'
import {DirectoryLock, LOCK_NAME} from '../../src/store/lock.js'
import {lastChainHash} from '../../src/store/recovery.js'
import {planRetention} from '../../src/store/retention.js'
import {chainedLines, tempDir, writeLog} from '../helpers.js'
import {checkChain} from './writer-support.js'

const DAY1 = Date.parse('2030-03-01T12:00:00.000Z')
const DAY2 = Date.parse('2030-03-02T00:00:01.000Z')
/** verify's clock: after the writers' injected ones (an audit.retention entry stamped after it is a forgery). */
const VERIFIER_NOW = new Date('2030-06-01T00:00:00.000Z')

/** An object `depth` levels deep: {n: {n: … {}}}. */
function nested(depth: number): Record<string, unknown> {
  const root: Record<string, unknown> = {}
  let at = root
  for (let i = 1; i < depth; i++) at = (at.n = {}) as Record<string, unknown>
  return root
}

const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean)
const mode = (path: string) => statSync(path).mode & 0o777

describe('AuditWriter', () => {
  it('starts from genesis in a new directory (0700), files 0600, metadata filled in', async () => {
    const dir = join(tempDir(), 'new', 'logs')
    const writer = await AuditWriter.open(dir, {now: () => DAY1, metadata: {env: 'prod'}})
    const written = await writer.write({event: 'auth.login', actor: 'bob', details: {ip: '10.0.0.5'}})
    await writer.write({event: 'auth.logout', level: 'warn'})
    await writer.close()
    assert.equal(mode(dir), 0o700)
    assert.equal(mode(join(dir, '..')), 0o700)
    const file = join(dir, 'audit-2030-03-01.jsonl')
    assert.equal(mode(file), 0o600)
    assert.equal(written?.file, file)
    assert.deepEqual(written?.entry.metadata, {hostname: hostname(), pid: process.pid, version: '0.1.0', env: 'prod'})
    const [first, second] = lines(file).map((l) => JSON.parse(l))
    assert.equal(first.timestamp, '2030-03-01T12:00:00.000Z')
    assert.deepEqual(Object.keys(first), ['timestamp', 'event', 'level', 'actor', 'details', 'metadata', 'chain_hash'])
    assert.equal(second.level, 'warning')
    const check = await checkChain(dir)
    assert.deepEqual(check.problems, [])
    assert.equal(check.entries.length, 2)
  })

  it('continues the chain from the last entry on disk', async () => {
    const dir = tempDir()
    const {lines: old, head} = chainedLines([
      {timestamp: '2030-03-01T10:00:00.000Z', event: 'a.b'},
      {timestamp: '2030-03-01T11:00:00.000Z', event: 'a.c'},
    ])
    writeLog(dir, 'audit-2030-03-01.jsonl', old)
    const writer = await AuditWriter.open(dir, {now: () => DAY1})
    await writer.write({event: 'a.d'})
    await writer.close()
    const all = lines(join(dir, 'audit-2030-03-01.jsonl'))
    assert.equal(all.length, 3)
    assert.equal((await checkChain(dir)).problems.length, 0)
    assert.notEqual(JSON.parse(all[2]).chain_hash, head)
    assert.equal((await verifyDirectory(dir, {threads: 0, now: VERIFIER_NOW})).valid, true)
  })

  it('rejects bad input with a clear error and writes nothing', async () => {
    const dir = tempDir()
    const writer = await AuditWriter.open(dir)
    const bad: Array<[unknown, RegExp]> = [
      [{event: 'Auth.Login'}, /event "Auth.Login": expected category.action/],
      [{event: 'login'}, /event "login"/],
      [{event: 'a.b', level: 'loud'}, /level "loud": expected one of debug, info, warning, error/],
      [{event: 'a.b', details: [1]}, /details: expected an object/],
      [{event: 'a.b', details: {n: Number.NaN}}, /details.n: NaN is not a JSON number/],
      [{event: 'a.b', details: {f: () => 1}}, /details.f: a function is not a JSON value/],
      [{event: 'a.b', details: {d: new Date(0)}}, /details.d: a Date is not a plain JSON object/],
      [{event: 'a.b', details: {deep: [{x: 1n}]}}, /details.deep\[0\].x: a bigint/],
      [{event: 'a.b', actor: 7}, /actor: expected a string/],
      [{event: 'a.b', colour: 'red'}, /unknown member "colour"/],
      [{event: 'a.b', details: {big: 'x'.repeat(1024 * 1024)}}, /readers accept at most/],
      // biome-ignore lint/suspicious/noSparseArray: the hole is the input under test
      [{event: 'a.b', details: {holes: [1, , 3]}}, /details.holes: an array with holes or named members/],
      [{event: 'a.b', details: {named: Object.assign([1], {extra: 2})}}, /details.named: an array with holes or named members/],
      [{event: 'a.b', details: nested(65)}, /: nested deeper than 64 levels/],
      // Deep enough to exhaust the stack of anything recursive.
      [{event: 'a.b', details: nested(100_000)}, /: nested deeper than 64 levels/],
    ]
    for (const [input, message] of bad) {
      let pending: Promise<unknown> | undefined
      assert.doesNotThrow(() => {
        pending = writer.write(input as never)
      }, 'bad input rejects the promise, it does not throw')
      await assert.rejects(pending!, (error: Error) => error instanceof WriteInputError && message.test(error.message))
    }
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    await assert.rejects(writer.write({event: 'a.b', details: cyclic}), /details.self(.self)?: circular reference/)
    await writer.close()
    assert.deepEqual(
      readdirSync(dir).filter((n) => n.startsWith('audit-')),
      [],
    )
  })

  it('writes details exactly as given: a "__proto__" member, a shared object twice, 64 levels deep', async () => {
    const dir = tempDir()
    const writer = await AuditWriter.open(dir, {now: () => DAY1})
    const shared = {x: 1}
    const details = JSON.parse('{"__proto__": {"polluted": true}, "k": 2}') as Record<string, unknown>
    Object.assign(details, {a: shared, b: shared, deep: nested(63)})
    const written = await writer.write({event: 'a.b', details})
    await writer.close()
    const stored = JSON.parse(lines(written!.file)[0]).details
    assert.deepEqual(Object.keys(stored), ['__proto__', 'k', 'a', 'b', 'deep'])
    assert.equal(JSON.stringify(stored), JSON.stringify(details))
  })

  it('refuses configured metadata named like the members it fills in', async () => {
    await assert.rejects(
      AuditWriter.open(tempDir(), {metadata: {hostname: 'forged'}}),
      (error: Error) =>
        error instanceof WriteInputError && /metadata: hostname, pid and version are filled in by auditkit/.test(error.message),
    )
  })

  it('drops entries below level, excluded events, and everything when disabled; integrity off writes unchained lines', async () => {
    const dir = tempDir()
    const writer = await AuditWriter.open(dir, {
      level: 'warning',
      exclude_events: ['api.health', 'debug.*'],
      include_metadata: false,
      integrity: false,
    })
    assert.equal(await writer.write({event: 'a.b', level: 'info'}), undefined)
    assert.equal(await writer.write({event: 'api.health', level: 'error'}), undefined)
    assert.equal(await writer.write({event: 'debug.trace.x', level: 'error'}), undefined)
    const kept = await writer.write({event: 'a.b', level: 'error'})
    await writer.close()
    const [line] = lines(kept!.file)
    assert.equal(lines(kept!.file).length, 1)
    assert.equal(JSON.parse(line).chain_hash, undefined)
    assert.deepEqual(JSON.parse(line).metadata, {})

    const off = join(tempDir(), 'off')
    const disabled = await AuditWriter.open(off, {enabled: false})
    assert.equal(await disabled.write({event: 'a.b'}), undefined)
    await disabled.close()
    assert.equal(existsSync(off), false)
  })

  it('rotates by size into numbered parts (closed 0400, gzipped with compress), by UTC day, never backwards', async () => {
    const dir = tempDir()
    let now = DAY1
    const writer = await AuditWriter.open(dir, {max_file_size: 0.001, compress: true, now: () => now})
    for (let i = 0; i < 6; i++) await writer.write({event: 'size.test', details: {i, pad: 'x'.repeat(400)}})
    now = DAY2
    await writer.write({event: 'day.two'})
    now = DAY1 // the clock goes back: the entry still goes to day 2, after the rest of the chain
    await writer.write({event: 'clock.back'})
    await writer.close()
    const names = readdirSync(dir)
      .filter((n) => n.startsWith('audit-'))
      .sort()
    assert.deepEqual(names, [
      'audit-2030-03-01.001.jsonl.gz',
      'audit-2030-03-01.002.jsonl.gz',
      'audit-2030-03-01.jsonl.gz',
      'audit-2030-03-02.jsonl',
    ])
    for (const n of names) assert.equal(mode(join(dir, n)), n.endsWith('.gz') ? 0o400 : 0o600, n)
    const check = await checkChain(dir)
    assert.deepEqual(check.problems, [])
    assert.deepEqual(
      check.entries.map((e) => e.event),
      ['size.test', 'size.test', 'size.test', 'size.test', 'size.test', 'size.test', 'day.two', 'clock.back'],
    )
    assert.equal((await verifyDirectory(dir, {threads: 0, now: VERIFIER_NOW})).valid, true)
  })

  it('never overwrites an existing part name', async () => {
    const dir = tempDir()
    const {lines: old, head} = chainedLines([{timestamp: '2030-03-01T10:00:00.000Z', event: 'a.b', details: {pad: 'y'.repeat(2000)}}])
    writeLog(dir, 'audit-2030-03-01.001.jsonl', ['{"not":"mine"}'])
    writeLog(dir, 'audit-2030-03-01.jsonl', old)
    const writer = await AuditWriter.open(dir, {max_file_size: 0.001, now: () => DAY1})
    const written = await writer.write({event: 'a.c'})
    await writer.close()
    assert.equal(readFileSync(join(dir, 'audit-2030-03-01.001.jsonl'), 'utf8'), '{"not":"mine"}\n')
    assert.equal(lines(join(dir, 'audit-2030-03-01.002.jsonl')).length, 1)
    assert.equal(written?.file, join(dir, 'audit-2030-03-01.jsonl'))
    assert.equal(written?.entry.chain_hash?.length, 64)
    assert.notEqual(written?.entry.chain_hash, head)
  })

  it('on open, ends a torn last line and records it in a chained audit.recovery event', async () => {
    const dir = tempDir()
    const {lines: old} = chainedLines([
      {timestamp: '2030-03-01T10:00:00.000Z', event: 'a.b'},
      {timestamp: '2030-03-01T10:00:01.000Z', event: 'a.c'},
    ])
    const fragment = old[1].slice(0, 57)
    writeLog(dir, 'audit-2030-03-01.jsonl', [old[0], fragment], {terminate: false})
    const writer = await AuditWriter.open(dir, {now: () => DAY1})
    await writer.write({event: 'after.crash'})
    await writer.close()
    // The torn file was closed under its final name, the one the record gives.
    const part = join(dir, 'audit-2030-03-01.001.jsonl')
    const partLines = lines(part)
    assert.equal(partLines[1], fragment)
    const recovery = JSON.parse(partLines[2])
    assert.equal(recovery.event, 'audit.recovery')
    assert.equal(recovery.level, 'warning')
    assert.equal(recovery.actor, 'auditkit')
    assert.deepEqual(recovery.details, {
      file: 'audit-2030-03-01.001.jsonl',
      line: 2,
      fragment_bytes: 57,
      fragment_sha256: createHash('sha256').update(fragment).digest('hex'),
    })
    const check = await checkChain(dir)
    assert.deepEqual(check.problems, [])
    assert.equal(check.recorded, 1)
    assert.deepEqual(
      check.entries.map((e) => e.event),
      ['a.b', 'audit.recovery', 'after.crash'],
    )
    const report = await verifyDirectory(dir, {threads: 0, now: VERIFIER_NOW})
    assert.equal(report.valid, true, JSON.stringify(report.problems))
  })

  it('a whole last entry missing only its LF is ended, not recorded; the chain continues from it', async () => {
    const dir = tempDir()
    const {lines: old} = chainedLines([{timestamp: '2030-03-01T10:00:00.000Z', event: 'a.b'}])
    writeLog(dir, 'audit-2030-03-01.jsonl', old, {terminate: false})
    const writer = await AuditWriter.open(dir, {now: () => DAY1})
    await writer.write({event: 'a.c'})
    await writer.close()
    const check = await checkChain(dir)
    assert.deepEqual(check.problems, [])
    assert.deepEqual(
      check.entries.map((e) => e.event),
      ['a.b', 'a.c'],
    )
  })

  it('repairs a rotation cut between link and unlink (no entry read twice)', async () => {
    const dir = tempDir()
    const {lines: old} = chainedLines([{timestamp: '2030-03-01T10:00:00.000Z', event: 'a.b'}])
    const live = writeLog(dir, 'audit-2030-03-01.jsonl', old)
    linkSync(live, join(dir, 'audit-2030-03-01.001.jsonl'))
    const writer = await AuditWriter.open(dir, {now: () => DAY1})
    await writer.write({event: 'a.c'})
    await writer.close()
    const check = await checkChain(dir)
    assert.deepEqual(check.problems, [])
    assert.deepEqual(
      check.entries.map((e) => e.event),
      ['a.b', 'a.c'],
    )
  })

  it('retention records the removed files in a chained audit.retention event, then removes them; verify tells it from a deletion', async () => {
    const dir = tempDir()
    let prev: string | undefined
    const days = ['2030-02-01', '2030-02-02', '2030-02-03']
    for (const day of days) {
      const made = chainedLines(
        [
          {timestamp: `${day}T08:00:00.000Z`, event: 'a.b'},
          {timestamp: `${day}T09:00:00.000Z`, event: 'a.c'},
        ],
        prev,
      )
      writeLog(dir, `audit-${day}.jsonl`, made.lines)
      prev = made.head
    }
    const writer = await AuditWriter.open(dir, {retention_days: 30, now: () => DAY1}) // cutoff 2030-01-30 12:00: nothing old enough
    assert.deepEqual(await writer.prune(), [])
    await writer.close()

    const pruner = await AuditWriter.open(dir, {retention_days: 27, now: () => DAY1}) // cutoff 2030-02-02 12:00
    const removed = await pruner.prune()
    await pruner.write({event: 'a.after'})
    await pruner.close()
    assert.deepEqual(
      removed.map((r) => r.file),
      ['audit-2030-02-01.jsonl'],
    )
    assert.deepEqual(
      readdirSync(dir)
        .filter((n) => n.startsWith('audit-'))
        .sort(),
      ['audit-2030-02-02.jsonl', 'audit-2030-02-03.jsonl', 'audit-2030-03-01.jsonl'],
    )
    const event = JSON.parse(lines(join(dir, 'audit-2030-03-01.jsonl'))[0])
    assert.equal(event.event, 'audit.retention')
    assert.equal(event.level, 'warning')
    assert.equal(event.actor, 'auditkit')
    const firstDayHead = chainedLines([
      {timestamp: '2030-02-01T08:00:00.000Z', event: 'a.b'},
      {timestamp: '2030-02-01T09:00:00.000Z', event: 'a.c'},
    ]).head
    assert.deepEqual(event.details, {
      retention_days: 27,
      removed: [
        {
          file: 'audit-2030-02-01.jsonl',
          entries: 2,
          first: '2030-02-01T08:00:00.000Z',
          last: '2030-02-01T09:00:00.000Z',
          last_hash: firstDayHead,
        },
      ],
      earlier: {through: null, entries: 0},
    })
    const check = await checkChain(dir, firstDayHead)
    assert.deepEqual(check.problems, [])
    const report = await verifyDirectory(dir, {threads: 0, now: VERIFIER_NOW})
    assert.equal(report.valid, true, JSON.stringify(report.problems))
  })

  it('retention reads a part gzipped between the listing and the read from its .gz: the record holds its real count and hash', async () => {
    const dir = tempDir()
    const made = chainedLines([
      {timestamp: '2030-02-01T08:00:00.000Z', event: 'a.b'},
      {timestamp: '2030-02-01T09:00:00.000Z', event: 'a.c'},
    ])
    writeLog(dir, 'audit-2030-02-01.001.jsonl', made.lines)
    writeLog(dir, 'audit-2030-02-02.jsonl', chainedLines([{timestamp: '2030-02-02T08:00:00.000Z', event: 'a.d'}], made.head).lines)
    const listed = await listLogFiles(dir)
    // The writer's background compression finishes now: the .gz appears, the plain part goes.
    writeFileSync(join(dir, 'audit-2030-02-01.001.jsonl.gz'), gzipSync(readFileSync(join(dir, 'audit-2030-02-01.001.jsonl'))))
    unlinkSync(join(dir, 'audit-2030-02-01.001.jsonl'))
    const planned = await planRetention(dir, 27, DAY1, listed)
    assert.deepEqual(planned, [
      {
        file: 'audit-2030-02-01.001.jsonl.gz',
        entries: 2,
        first: '2030-02-01T08:00:00.000Z',
        last: '2030-02-01T09:00:00.000Z',
        last_hash: made.head,
      },
    ])
    // A damaged part is not planned, nor anything after it, and the caller is told which and why.
    const gz = join(dir, 'audit-2030-02-01.001.jsonl.gz')
    writeFileSync(gz, readFileSync(gz).subarray(0, -12))
    const held: string[] = []
    assert.deepEqual(await planRetention(dir, 27, DAY1, listed, [], (error) => held.push(error.message)), [])
    assert.deepEqual(held, ['retention: audit-2030-02-01.001.jsonl and every later file kept: it is damaged (run audit verify)'])
    // Nor a part that cannot be read at all.
    unlinkSync(gz)
    assert.deepEqual(await planRetention(dir, 27, DAY1, listed), [])
  })

  it('concurrent callers whose entries add up to more than a string can hold are written in several batches', async () => {
    const dir = tempDir()
    const writer = await AuditWriter.open(dir, {max_file_size: 0, fsync: 'never', now: () => DAY1})
    const pad = 'z'.repeat(1000 * 1000) // 600 entries of 1 MB: more than V8's longest string
    const results = await Promise.allSettled(Array.from({length: 600}, (_, i) => writer.write({event: 'big.entry', details: {i, pad}})))
    await writer.close()
    assert.deepEqual(
      results
        .filter((r) => r.status === 'rejected')
        .map((r) => String((r as PromiseRejectedResult).reason))
        .slice(0, 1),
      [],
    )
    const path = join(dir, 'audit-2030-03-01.jsonl')
    assert.ok(statSync(path).size > 600 * 1000 * 1000)
    const report = await verifyDirectory(dir, {threads: 0, now: VERIFIER_NOW})
    assert.equal(report.entries, 600)
    assert.equal(report.valid, true)
    unlinkSync(path)
  })

  it('on open, finishes what a writer killed while compressing left: closed parts still plain are gzipped, its stale temporary files removed', async () => {
    const dir = tempDir()
    const made = chainedLines([
      {timestamp: '2030-03-01T08:00:00.000Z', event: 'a.b'},
      {timestamp: '2030-03-01T09:00:00.000Z', event: 'a.c'},
    ])
    writeLog(dir, 'audit-2030-03-01.001.jsonl', made.lines.slice(0, 1))
    chmodSync(join(dir, 'audit-2030-03-01.001.jsonl'), 0o400) // closed, never compressed
    writeLog(dir, 'audit-2030-03-01.jsonl', made.lines.slice(1))
    const stale = join(dir, 'audit-2030-03-01.001.jsonl.gz.12345-0badf00d.tmp')
    const fresh = join(dir, 'audit-2030-03-01.001.jsonl.gz.12346-0badcafe.tmp') // a compression in progress
    writeFileSync(stale, 'half a gzip')
    writeFileSync(fresh, 'half a gzip')
    const hourAgo = new Date(Date.now() - 3600_000)
    utimesSync(stale, hourAgo, hourAgo)
    // Part 2: a rotation cut short left it writable (0600).
    writeLog(dir, 'audit-2030-03-01.002.jsonl', [])
    const writer = await AuditWriter.open(dir, {compress: true, now: () => DAY1})
    await writer.write({event: 'a.d'})
    await writer.close()
    assert.deepEqual(
      readdirSync(dir)
        .filter((n) => n.startsWith('audit-'))
        .sort(),
      [
        'audit-2030-03-01.001.jsonl.gz',
        'audit-2030-03-01.001.jsonl.gz.12346-0badcafe.tmp',
        'audit-2030-03-01.002.jsonl.gz',
        'audit-2030-03-01.jsonl',
      ],
    )
    assert.equal(mode(join(dir, 'audit-2030-03-01.001.jsonl.gz')), 0o400)
    assert.equal(mode(join(dir, 'audit-2030-03-01.002.jsonl.gz')), 0o400)
    const report = await verifyDirectory(dir, {threads: 0, now: VERIFIER_NOW})
    assert.equal(report.valid, true, JSON.stringify(report.problems))
    assert.equal(report.entries, 3)
  })

  it('retention of more files than one event may record writes several events, each a line readers accept; verify holds', async () => {
    const dir = tempDir()
    const parts: Array<[string, number]> = []
    for (const day of ['2030-01-01', '2030-01-02', '2030-01-03'])
      for (let part = 1; part <= 999 && parts.length < 2100; part++) parts.push([day, part])
    const made = chainedLines(parts.map(([day], i) => ({timestamp: `${day}T08:00:00.000Z`, event: 'a.b', details: {i}})))
    parts.forEach(([day, part], i) => {
      writeLog(dir, `audit-${day}.${String(part).padStart(3, '0')}.jsonl`, [made.lines[i]])
    })
    writeLog(dir, 'audit-2030-03-01.jsonl', chainedLines([{timestamp: '2030-03-01T08:00:00.000Z', event: 'a.c'}], made.head).lines)
    const writer = await AuditWriter.open(dir, {retention_days: 30, now: () => DAY1})
    const removed = await writer.prune()
    await writer.close()
    assert.equal(removed.length, 2100)
    const events = lines(join(dir, 'audit-2030-03-01.jsonl')).slice(1)
    assert.deepEqual(
      events.map((l) => JSON.parse(l).details.removed.length),
      [2000, 100],
    )
    for (const line of events) assert.ok(Buffer.byteLength(line) < 1024 * 1024)
    const report = await verifyDirectory(dir, {threads: 0, now: VERIFIER_NOW})
    assert.equal(report.valid, true, JSON.stringify(report.problems))
  })

  it('a retention run whose files another run removed first writes nothing and does not rotate (no empty new file)', async () => {
    const dir = tempDir()
    let prev: string | undefined
    for (const day of ['2030-01-01', '2030-01-02']) {
      const made = chainedLines([{timestamp: `${day}T08:00:00.000Z`, event: 'a.b'}], prev)
      writeLog(dir, `audit-${day}.jsonl`, made.lines)
      prev = made.head
    }
    const setup = await AuditWriter.open(dir, {now: () => DAY1})
    await setup.write({event: 'a.c'})
    await setup.close()
    // Both plan the two old files; the second to get the lock finds them gone.
    const first = await AuditWriter.open(dir, {retention_days: 30, now: () => DAY2})
    const second = await AuditWriter.open(dir, {retention_days: 30, now: () => DAY2 + 86_400_000})
    const [a, b] = await Promise.all([first.prune(), second.prune()])
    await Promise.all([first.close(), second.close()])
    assert.deepEqual([a.length, b.length].sort(), [0, 2])
    const names = readdirSync(dir)
      .filter((n) => n.startsWith('audit-'))
      .sort()
    for (const name of names) assert.ok(statSync(join(dir, name)).size > 0, `${name} is empty`)
    assert.equal((await verifyDirectory(dir, {threads: 0, now: VERIFIER_NOW})).valid, true)
  })

  it('the chain head is looked for in a part gzipped since the listing, and never taken from an older part instead', async () => {
    const dir = tempDir()
    const made = chainedLines([
      {timestamp: '2030-03-01T08:00:00.000Z', event: 'a.b'},
      {timestamp: '2030-03-01T09:00:00.000Z', event: 'a.c'},
    ])
    writeLog(dir, 'audit-2030-03-01.001.jsonl', made.lines.slice(0, 1))
    writeLog(dir, 'audit-2030-03-01.002.jsonl', made.lines.slice(1))
    const [, second] = await listLogFiles(dir)
    writeFileSync(`${second.path}.gz`, gzipSync(readFileSync(second.path)))
    unlinkSync(second.path)
    assert.equal(await lastChainHash(second), made.head)
    unlinkSync(`${second.path}.gz`)
    await assert.rejects(lastChainHash(second), /cannot be read to find the chain head/)
  })

  it('retention never removes the file holding the chain head, and runs at rotation', async () => {
    const dir = tempDir()
    const made = chainedLines([{timestamp: '2030-01-01T08:00:00.000Z', event: 'a.b'}])
    writeLog(dir, 'audit-2030-01-01.jsonl', made.lines)
    const writer = await AuditWriter.open(dir, {retention_days: 1, now: () => DAY1})
    assert.deepEqual(await writer.prune(), [], 'the only file holds the head')
    await writer.write({event: 'a.c'}) // a new day: rotation, then retention in the background
    await writer.close()
    assert.deepEqual(
      readdirSync(dir).filter((n) => n.startsWith('audit-')),
      ['audit-2030-03-01.jsonl'],
    )
    assert.deepEqual(
      lines(join(dir, 'audit-2030-03-01.jsonl')).map((l) => JSON.parse(l).event),
      ['a.c', 'audit.retention'],
    )
    assert.equal((await verifyDirectory(dir, {threads: 0, now: VERIFIER_NOW})).valid, true)
  })

  it('breaks a lock left by a dead process at once, and waits for a live holder (then times out)', async () => {
    const dir = tempDir()
    // Our own lock file says how this host is named in locks.
    const lock = new DirectoryLock(dir)
    assert.ok(lock.tryAcquire())
    const host = readFileSync(join(dir, LOCK_NAME), 'utf8').split(' ')[1]
    lock.release()
    assert.equal(existsSync(join(dir, LOCK_NAME)), false)

    const writer = await AuditWriter.open(dir, {now: () => DAY1, lockTimeoutMs: 300})
    writeFileSync(join(dir, LOCK_NAME), `2147483646 ${host} deadbeef`) // a pid that cannot be running
    assert.ok(await writer.write({event: 'a.b'}))
    writeFileSync(join(dir, LOCK_NAME), `${process.ppid} ${host} cafe`) // a live process holds it
    await assert.rejects(
      writer.write({event: 'a.c'}),
      (error: Error) => error instanceof LockTimeoutError && /held by pid \d+/.test(error.message),
    )
    // The same live pid, but written before this host last booted: a leftover, broken at once.
    const [name, pidNamespace] = host.split('/')
    writeFileSync(join(dir, LOCK_NAME), `${process.ppid} ${name}/${pidNamespace}/an-earlier-boot cafe`)
    const beforeBoot = new Date(Date.now() - uptime() * 1000 - 60_000)
    utimesSync(join(dir, LOCK_NAME), beforeBoot, beforeBoot)
    assert.ok(await writer.write({event: 'a.d'}))
    // Another host's lock, fresh: waited for.
    writeFileSync(join(dir, LOCK_NAME), `${process.ppid} elsewhere/1/x cafe`)
    await assert.rejects(writer.write({event: 'a.e'}), LockTimeoutError)
    await writer.close()
    assert.deepEqual(
      lines(join(dir, 'audit-2030-03-01.jsonl')).map((l) => JSON.parse(l).event),
      ['a.b', 'a.d'],
    )
  })
})

import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {chmodSync, readFileSync, unlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'

import {sha256Hex} from '../../src/chain/hash.js'
import {runExport} from '../../src/export/run.js'
import {Diagnostics} from '../../src/store/diagnostics.js'
import {useIdentityFile} from '../../src/store/age-keys.js'
import {FileSink} from '../../src/transport/file.js'
import {chainedLines, type EntrySpec, tempDir, writeLog} from '../helpers.js'

// The worker-thread export (files decoded and encoded on threads, written in order) against the
// one-thread loop: the same bytes and the same diagnostics, file:line included.

function corpus(): string {
  const dir = tempDir('export-parallel-')
  let prev: string | undefined
  const days = ['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-04']
  for (const [d, day] of days.entries()) {
    const specs: EntrySpec[] = Array.from({length: 3000}, (_, i) => ({
      timestamp: new Date(Date.parse(`${day}T00:00:00.000Z`) + i * 1000).toISOString(),
      event: ['auth.login', 'auth.fail', 'api.request', 'config.change'][i % 4],
      level: (['info', 'warning', 'error', 'debug'] as const)[i % 4],
      actor: `user${i % 17}`,
      details: {i, ip: `10.0.${d}.${i % 250}`, note: i % 50 === 0 ? 'a|b=c\\d\nnext' : 'plain'},
    }))
    const chained = chainedLines(specs, prev)
    prev = chained.head
    const lines = [...chained.lines]
    // Damage in every file but one: malformed JSON, a non-object, a line failing the schema.
    if (d !== 2) {
      lines.splice(100 + d, 0, '{"timestamp": broken')
      lines.splice(2000, 0, '[1,2,3]')
      lines.splice(2500, 0, '{"timestamp":"2026-11-01T00:00:00.000Z","event":5}')
    }
    // The last file ends in a line without its LF (a write in progress): reported, not exported.
    writeLog(dir, `audit-${day}.jsonl${d === 1 ? '.gz' : ''}`, lines, {terminate: d !== 3})
  }
  return dir
}

async function exportWith(dir: string, format: string, parallelBytes: number, extra: Partial<Parameters<typeof runExport>[0]> = {}) {
  const out = join(tempDir(), `out.${format}`)
  const diagnostics = new Diagnostics()
  // Ranges of 64 KiB: each file is cut into several, so lines and diagnostics are renumbered across them.
  const result = await runExport({
    dir,
    filter: {},
    format,
    sink: await FileSink.open(out),
    diagnostics,
    parallelBytes,
    rangeBytes: 64 * 1024,
    ...extra,
  })
  return {sha: createHash('sha256').update(readFileSync(out)).digest('hex'), lines: diagnostics.lines(), result}
}

test('CEF, ECS, LEEF and CSV: the threaded export writes the same bytes and diagnostics as the one-thread loop', {
  timeout: 180_000,
}, async () => {
  const dir = corpus()
  for (const format of ['cef', 'ecs', 'leef', 'csv']) {
    const one = await exportWith(dir, format, Number.POSITIVE_INFINITY)
    const many = await exportWith(dir, format, 0)
    assert.equal(many.sha, one.sha, format)
    assert.deepEqual(many.lines, one.lines, format)
    assert.equal(one.lines.length, 4)
    assert.match(one.lines.join('\n'), /audit-2026-11-01\.jsonl:101/)
    assert.deepEqual(many.result, one.result, format)
    assert.equal(one.result.exported, 11_999)
  }
})

test('with filters, privacy and a --since-last state inside the second file: the same bytes, counts and state', {
  timeout: 180_000,
}, async () => {
  const dir = corpus()
  const runs = []
  for (const parallelBytes of [Number.POSITIVE_INFINITY, 0]) {
    const state = join(tempDir(), 'state')
    const {chain_hash: hash, timestamp} = JSON.parse(readFileSync(join(dir, 'audit-2026-11-01.jsonl'), 'utf8').split('\n')[500])
    // A state as a first run would have left it: after line 501 of the first file.
    writeFileSync(
      state,
      JSON.stringify({version: 1, file: 'audit-2026-11-01.jsonl', line: 501, chain_hash: hash, timestamp, exported_at: timestamp}),
    )
    const run = await exportWith(dir, 'ecs', parallelBytes, {
      sinceLast: state,
      filter: {events: ['auth.*'], level: 'warning'},
      privacy: {redact: ['actor'], pseudonymizeKey: 'k'.repeat(16)},
    })
    runs.push({...run, state: JSON.parse(readFileSync(state, 'utf8'))})
  }
  const [one, many] = runs
  assert.equal(many.sha, one.sha)
  assert.deepEqual(many.lines, one.lines)
  assert.deepEqual({...many.result, resumedFrom: undefined}, {...one.result, resumedFrom: undefined})
  assert.ok(one.result.exported > 0 && one.result.privacy!.redacted === one.result.exported)
  assert.deepEqual({...many.state, exported_at: 0}, {...one.state, exported_at: 0})
})

test('an age-encrypted part goes to a thread whole and decrypted, never cut into byte ranges of ciphertext', {
  timeout: 180_000,
}, async () => {
  const dir = corpus()
  const keys = tempDir('export-parallel-age-')
  const identity = join(keys, 'id.txt')
  execFileSync('age-keygen', ['-o', identity], {stdio: 'ignore'})
  chmodSync(identity, 0o600)
  const recipient = /age1[0-9a-z]+/.exec(readFileSync(identity, 'utf8'))![0]
  const plain = join(dir, 'audit-2026-11-03.jsonl')
  execFileSync('age', ['-r', recipient, '-o', `${plain}.age`, plain])
  unlinkSync(plain)
  const before = process.env.AUDIT_IDENTITY
  useIdentityFile(identity)
  try {
    const one = await exportWith(dir, 'cef', Number.POSITIVE_INFINITY)
    const many = await exportWith(dir, 'cef', 0)
    assert.equal(one.result.exported, 11_999)
    assert.equal(many.sha, one.sha)
    assert.deepEqual(many.lines, one.lines)
  } finally {
    if (before === undefined) delete process.env.AUDIT_IDENTITY
    else process.env.AUDIT_IDENTITY = before
  }
})

/**
 * One file with damage of every kind a reader reports by line, spread so that with 64 KiB ranges some
 * of it lies just past a range's end (read by that range, belonging to the next): a line over the
 * limit, bytes that are not UTF-8, blank lines, torn lines with and without their recovery record.
 */
function damagedCorpus(): string {
  const dir = tempDir('export-parallel-damaged-')
  const day = '2026-11-05'
  const specs: EntrySpec[] = Array.from({length: 6000}, (_, i) => ({
    timestamp: new Date(Date.parse(`${day}T00:00:00.000Z`) + i * 1000).toISOString(),
    event: ['auth.login', 'api.request', 'file.write'][i % 3],
    level: 'info',
    actor: `user${i % 7}`,
    details: {i, ip: `10.1.${i % 200}.${i % 250}`},
  }))
  const name = `audit-${day}.jsonl`
  const parts: Buffer[] = []
  let line = 0
  const push = (bytes: Buffer | string) => {
    parts.push(Buffer.from(bytes), Buffer.from('\n'))
    line++
  }
  for (const [i, text] of chainedLines(specs).lines.entries()) {
    push(text)
    if (i % 997 === 500) push(`{"timestamp":"${'x'.repeat(1100 * 1024)}"}`)
    if (i % 331 === 7) push(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))
    if (i % 293 === 11) push('   ')
    if (i % 409 === 13) push('{"timestamp":"2026-11-05T01:00:00.000Z","event":"auth.lo') // torn, not recovered
    // Every other record claims a line that is not the torn one's: reported, as the one-thread loop does.
    if (i % 577 === 17 || i % 577 === 300) {
      const torn = '{"timestamp":"2026-11-05T02:00:00.000Z","event":"api.re'
      push(torn)
      const claimed = i % 577 === 17 ? line : line + 5
      push(
        chainedLines([
          {
            timestamp: '2026-11-05T02:00:01.000Z',
            event: 'audit.recovery',
            level: 'warning',
            actor: 'auditkit',
            details: {file: name, line: claimed, fragment_bytes: Buffer.byteLength(torn), fragment_sha256: sha256Hex(torn)},
          },
        ]).lines[0],
      )
    }
  }
  writeFileSync(join(dir, name), Buffer.concat(parts))
  // A second file, so the export takes threads.
  writeLog(dir, 'audit-2026-11-06.jsonl', chainedLines(specs.slice(0, 100)).lines)
  return dir
}

test('damage near range ends (too long, not UTF-8, blank, torn with and without recovery) and --fields: the same bytes and diagnostics', {
  timeout: 180_000,
}, async () => {
  const dir = damagedCorpus()
  const runs: Array<[string, Partial<Parameters<typeof runExport>[0]>]> = [
    ['cef', {}],
    ['ecs', {projection: {fields: ['@timestamp', 'user.name', 'source']}}],
    ['ecs', {privacy: {pseudonymizeKey: 'k'.repeat(16)}}],
  ]
  for (const [format, extra] of runs) {
    const one = await exportWith(dir, format, Number.POSITIVE_INFINITY, extra)
    const many = await exportWith(dir, format, 0, extra)
    assert.equal(many.sha, one.sha, format)
    assert.deepEqual(many.lines, one.lines, format)
    assert.deepEqual(many.result, one.result, format)
    assert.equal(one.result.exported, 6121) // the recovery records are entries too
    // Each kind is found: over-long, not UTF-8, and the torn lines that were not recovered.
    assert.match(one.lines.join('\n'), /too.long|over/i)
    assert.match(one.lines.join('\n'), /UTF-8/)
    assert.match(one.lines.join('\n'), /malformed/)
  }
})

import assert from 'node:assert/strict'
import {readdirSync, readFileSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {gzipSync} from 'node:zlib'

import {generateIdentity, identityToRecipient} from 'age-encryption'

import {AuditWriter} from '../../src/index.js'
import {verifyDirectory} from '../../src/integrity/verify/index.js'
import {Diagnostics} from '../../src/store/diagnostics.js'
import {IDENTITY_ENV} from '../../src/store/payload.js'
import {readEntries} from '../../src/store/reader.js'
import {chainedLines, tempDir} from '../helpers.js'

const secret = await generateIdentity()
const recipient = await identityToRecipient(secret)
const identity = join(tempDir('age-writer-key-'), 'key.txt')
writeFileSync(identity, `${secret}\n`, {mode: 0o600})
process.env[IDENTITY_ENV] = identity

const DAY = '2026-11-02'
const spec = (i: number) => ({timestamp: `${DAY}T10:00:${String(i).padStart(2, '0')}.000Z`, event: 'auth.login', details: {i}})

/** A directory as a writer killed mid-way left it: closed part 001 (in `form`), and the day's live file chained on from it. */
function leftovers(form: (dir: string, text: string) => void): {dir: string; first: string} {
  const dir = tempDir('age-writer-')
  const part = chainedLines([0, 1, 2].map(spec))
  const live = chainedLines([3].map(spec), part.head)
  const first = `${part.lines.join('\n')}\n`
  form(dir, first)
  writeFileSync(join(dir, `audit-${DAY}.jsonl`), `${live.lines.join('\n')}\n`, {mode: 0o600})
  return {dir, first}
}

async function entries(dir: string): Promise<number[]> {
  const diagnostics = new Diagnostics()
  const seen: number[] = []
  for await (const e of readEntries(dir, {diagnostics})) seen.push(e.entry.details.i as number)
  assert.equal(diagnostics.total, 0, diagnostics.lines().join('\n'))
  return seen
}

async function reopen(dir: string, compress: boolean): Promise<string[]> {
  const writer = await AuditWriter.open(dir, {compress, encryption: {recipients: [recipient]}})
  await writer.close()
  return readdirSync(dir).sort()
}

describe('a writer finishes the encryption a killed writer left', () => {
  it('a closed part still plain is encrypted (gzipped first with compress), the plaintext removed', async () => {
    for (const compress of [false, true]) {
      const {dir} = leftovers((d, text) => writeFileSync(join(d, `audit-${DAY}.001.jsonl`), text, {mode: 0o400}))
      assert.deepEqual(await reopen(dir, compress), [`audit-${DAY}.001.jsonl${compress ? '.gz' : ''}.age`, `audit-${DAY}.jsonl`])
      assert.equal(statSync(join(dir, `audit-${DAY}.001.jsonl${compress ? '.gz' : ''}.age`)).mode & 0o777, 0o400)
      assert.deepEqual(await entries(dir), [0, 1, 2, 3])
      assert.equal((await verifyDirectory(dir)).valid, true)
    }
  })

  it('a gzipped part is encrypted; a part killed between link and unlink keeps its complete encrypted form', async () => {
    const gz = leftovers((d, text) => writeFileSync(join(d, `audit-${DAY}.001.jsonl.gz`), gzipSync(text), {mode: 0o400}))
    assert.deepEqual(await reopen(gz.dir, true), [`audit-${DAY}.001.jsonl.gz.age`, `audit-${DAY}.jsonl`])
    assert.deepEqual(await entries(gz.dir), [0, 1, 2, 3])

    // Both forms: the writer had linked the .age into place and was killed before removing the plaintext.
    const both = leftovers((d, text) => {
      writeFileSync(join(d, `audit-${DAY}.001.jsonl`), text, {mode: 0o400})
    })
    await reopen(both.dir, false)
    const sealed = readFileSync(join(both.dir, `audit-${DAY}.001.jsonl.age`))
    writeFileSync(join(both.dir, `audit-${DAY}.001.jsonl`), both.first, {mode: 0o400})
    assert.deepEqual(await entries(both.dir), [0, 1, 2, 3], 'while both are there, the plaintext is read, once')
    assert.deepEqual(await reopen(both.dir, false), [`audit-${DAY}.001.jsonl.age`, `audit-${DAY}.jsonl`])
    assert.deepEqual(readFileSync(join(both.dir, `audit-${DAY}.001.jsonl.age`)), sealed, 'the encrypted form that was there stands')
  })

  it("a dead encryption's temporary file is never read as a part, and is removed once stale", async () => {
    const {dir} = leftovers((d, text) => writeFileSync(join(d, `audit-${DAY}.001.jsonl`), text, {mode: 0o400}))
    const fresh = join(dir, `audit-${DAY}.001.jsonl.age.4242-0badcafe.tmp`)
    const stale = join(dir, `audit-${DAY}.001.jsonl.gz.age.4241-0badcafe.tmp`)
    writeFileSync(fresh, 'half an age file')
    writeFileSync(stale, 'half an age file')
    const old = new Date(Date.now() - 3_600_000)
    utimesSync(stale, old, old)
    assert.deepEqual(await entries(dir), [0, 1, 2, 3])
    const names = await reopen(dir, false)
    assert.ok(!names.includes(`audit-${DAY}.001.jsonl.gz.age.4241-0badcafe.tmp`), 'stale temporary file removed')
    assert.ok(names.includes(`audit-${DAY}.001.jsonl.age`))
  })
})

describe('retention over encrypted parts', () => {
  /** Day 1 closed and encrypted, day 2 the live file; a writer five days on, keeping one day. */
  async function setUp(): Promise<string> {
    const dir = tempDir('age-retention-')
    const old = chainedLines([0, 1, 2].map((i) => ({...spec(i), timestamp: `2026-11-01T10:00:0${i}.000Z`})))
    const live = chainedLines([3].map(spec), old.head)
    writeFileSync(join(dir, 'audit-2026-11-01.jsonl'), `${old.lines.join('\n')}\n`, {mode: 0o400})
    writeFileSync(join(dir, `audit-${DAY}.jsonl`), `${live.lines.join('\n')}\n`, {mode: 0o600})
    await reopen(dir, false)
    assert.ok(readdirSync(dir).includes('audit-2026-11-01.jsonl.age'))
    return dir
  }
  const later = {now: () => Date.parse('2026-11-05T12:00:00.000Z'), retention_days: 1, encryption: {recipients: [recipient]}}

  it('with the identity, an encrypted part is recorded and pruned; verify stays VALID', async () => {
    const dir = await setUp()
    const writer = await AuditWriter.open(dir, later)
    const removed = await writer.prune()
    await writer.close()
    assert.deepEqual(
      removed.map((r) => [r.file, r.entries]),
      [['audit-2026-11-01.jsonl.age', 3]],
    )
    assert.ok(!readdirSync(dir).some((n) => n.startsWith('audit-2026-11-01')))
    const report = await verifyDirectory(dir)
    assert.equal(report.valid, true, JSON.stringify(report.problems))
  })

  it('without it, the writer cannot read the part to record it, so it is kept (never removed unrecorded) and says so', async () => {
    const dir = await setUp()
    const warnings: string[] = []
    delete process.env[IDENTITY_ENV]
    try {
      const writer = await AuditWriter.open(dir, {...later, onError: (error) => warnings.push(error.message)})
      assert.deepEqual(await writer.prune(), [])
      await writer.close()
    } finally {
      process.env[IDENTITY_ENV] = identity
    }
    assert.ok(readdirSync(dir).includes('audit-2026-11-01.jsonl.age'))
    assert.deepEqual(warnings, [
      'retention: audit-2026-11-01.jsonl.age and every later file kept: it is encrypted and no identity that opens it was given (--identity, AUDIT_IDENTITY or encryption.identity)',
    ])
  })
})

/**
 * The tamper matrix: every attack the issue lists, in both profiles where it applies, against a
 * real three-day log directory; and the things that must not be flagged.
 */
import assert from 'node:assert/strict'
import {generateKeyPairSync, createHash} from 'node:crypto'
import {readFileSync, readdirSync, unlinkSync, utimesSync, writeFileSync, appendFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {gzipSync} from 'node:zlib'

import {sealDirectory} from '../../src/integrity/seal.js'
import {type VerifyProblemKind, type VerifyReport, verifyDirectory} from '../../src/integrity/verify/index.js'
import {GENESIS, hasChainSuffix, splitChainedLine} from '../../src/chain/native.js'
import {sha256Hex} from '../../src/chain/hash.js'
import {ROOT, tempDir, writeLog} from '../helpers.js'
import {chain, fixtureBody, type FixtureProfile, storedHash, unchain} from '../verify-fixtures.js'

const DAYS = ['2026-03-01', '2026-03-02', '2026-03-03']
const PER_FILE = 6
const names = DAYS.map((d) => `audit-${d}.jsonl`)
const {privateKey, publicKey} = generateKeyPairSync('ed25519')

interface Log {
  dir: string
  profile: FixtureProfile
  read(file: number): string[]
  write(file: number, lines: string[]): void
}

function buildLog(profile: FixtureProfile): Log {
  const dir = tempDir('verify-matrix-')
  let prev = GENESIS
  for (const [f, day] of DAYS.entries()) {
    const {lines, head} = chain(
      profile,
      Array.from({length: PER_FILE}, (_, i) => fixtureBody(profile, day, f * PER_FILE + i)),
      prev,
    )
    writeLog(dir, names[f], lines)
    prev = head
  }
  return {
    dir,
    profile,
    read: (f) => readFileSync(join(dir, names[f]), 'utf8').split('\n').slice(0, -1),
    write: (f, lines) => writeLog(dir, names[f], lines),
  }
}

async function seal(log: Log): Promise<void> {
  const result = await sealDirectory(log.dir, privateKey)
  assert.ok(result.checkpoint, 'sealed')
}

function verify(log: Log, threads = 0): Promise<VerifyReport> {
  return verifyDirectory(log.dir, {threads, pubkey: readdirSync(log.dir).includes('audit.checkpoints') ? publicKey : undefined})
}

/** Asserts the report is invalid and names the problem kind at the file and line. */
function expectProblem(report: VerifyReport, kind: VerifyProblemKind, file?: number, line?: number): void {
  assert.equal(report.valid, false, 'reported invalid')
  const match = report.problems.find(
    (p) => p.kind === kind && (file === undefined || p.file === names[file]) && (line === undefined || p.line === line),
  )
  assert.ok(match, `expected ${kind} at ${file === undefined ? '?' : names[file]}:${line ?? '?'}, got ${JSON.stringify(report.problems)}`)
}

interface Case {
  name: string
  profiles: FixtureProfile[]
  sealed?: boolean
  tamper(log: Log): void
  check(report: VerifyReport): void
}

const both: FixtureProfile[] = ['native', 'loki']

const detect: Case[] = [
  {
    name: 'an edited field',
    profiles: both,
    tamper: (log) => {
      const lines = log.read(1)
      lines[2] = lines[2].replace(/"(alice|bob|carol)"/, '"mallory"')
      log.write(1, lines)
    },
    check: (r) => expectProblem(r, 'hash-mismatch', 1, 3),
  },
  {
    name: 'an edit with the whole chain recomputed after it',
    profiles: both,
    sealed: true,
    tamper: (log) => {
      const all = [0, 1, 2].map((f) => log.read(f))
      const bodies = all.flat().map((line) => unchain(log.profile, line))
      bodies[PER_FILE + 2] = bodies[PER_FILE + 2].replace(/"(alice|bob|carol)"/, '"mallory"')
      const {lines} = chain(log.profile, bodies)
      for (let f = 0; f < 3; f++) log.write(f, lines.slice(f * PER_FILE, (f + 1) * PER_FILE))
    },
    check: (r) => expectProblem(r, 'checkpoint', 2, PER_FILE),
  },
  {
    name: 'a deleted line',
    profiles: both,
    tamper: (log) =>
      log.write(
        1,
        log.read(1).filter((_, i) => i !== 2),
      ),
    check: (r) => expectProblem(r, 'hash-mismatch', 1, 3),
  },
  {
    name: 'an inserted line',
    profiles: both,
    tamper: (log) => {
      const lines = log.read(1)
      lines.splice(2, 0, lines[4])
      log.write(1, lines)
    },
    check: (r) => expectProblem(r, 'hash-mismatch', 1, 3),
  },
  {
    name: 'two lines swapped',
    profiles: both,
    tamper: (log) => {
      const lines = log.read(1)
      ;[lines[2], lines[3]] = [lines[3], lines[2]]
      log.write(1, lines)
    },
    check: (r) => expectProblem(r, 'hash-mismatch', 1, 3),
  },
  {
    name: 'lines cut from the end of the newest file',
    profiles: both,
    sealed: true,
    tamper: (log) => log.write(2, log.read(2).slice(0, 3)),
    check: (r) => expectProblem(r, 'entries-missing', 2),
  },
  {
    name: 'lines cut from the sealed newest file after it was gzipped',
    profiles: both,
    sealed: true,
    tamper: (log) => {
      writeFileSync(join(log.dir, `${names[2]}.gz`), gzipSync(`${log.read(2).slice(0, 3).join('\n')}\n`))
      unlinkSync(join(log.dir, names[2]))
    },
    check: (r) => {
      assert.ok(
        r.problems.some((p) => p.kind === 'entries-missing' && p.file === `${names[2]}.gz` && p.line === 3),
        JSON.stringify(r.problems),
      )
      assert.equal(r.files.length, 3, 'no file reported missing')
    },
  },
  {
    name: 'lines cut from the sealed live file after it was rotated into a part',
    profiles: both,
    sealed: true,
    tamper: (log) => {
      writeLog(log.dir, `audit-${DAYS[2]}.001.jsonl`, log.read(2).slice(0, 3))
      unlinkSync(join(log.dir, names[2]))
    },
    check: (r) => {
      assert.ok(
        r.problems.some(
          (p) => p.kind === 'checkpoint' && p.file === `audit-${DAYS[2]}.001.jsonl` && /no longer in the log/.test(p.message),
        ),
        JSON.stringify(r.problems),
      )
      assert.equal(r.files.length, 3, 'no file reported missing')
    },
  },
  {
    name: 'the newest file deleted',
    profiles: both,
    sealed: true,
    tamper: (log) => unlinkSync(join(log.dir, names[2])),
    check: (r) => expectProblem(r, 'file-missing', 2),
  },
  {
    name: 'a middle file deleted',
    profiles: both,
    tamper: (log) => unlinkSync(join(log.dir, names[1])),
    check: (r) => expectProblem(r, 'chain-break', 2, 1),
  },
  {
    name: 'the oldest file deleted without an audit.retention entry',
    profiles: both,
    tamper: (log) => unlinkSync(join(log.dir, names[0])),
    check: (r) => expectProblem(r, 'chain-start', 1, 1),
  },
  {
    name: 'chain_hash stripped from the first lines of the first file',
    profiles: both,
    tamper: (log) => {
      const lines = log.read(0)
      log.write(
        0,
        lines.map((line, i) => (i < 2 ? `${unchain(log.profile, line)}` : line)),
      )
    },
    check: (r) => {
      expectProblem(r, 'unchained', 0, 1)
      expectProblem(r, 'chain-start', 0, 3)
    },
  },
  {
    name: 'chain_hash stripped from the first lines of a later file',
    profiles: both,
    tamper: (log) => {
      log.write(
        1,
        log.read(1).map((line, i) => (i < 2 ? unchain(log.profile, line) : line)),
      )
    },
    check: (r) => {
      expectProblem(r, 'unchained', 1, 1)
      expectProblem(r, 'chain-break', 1, 3)
    },
  },
  {
    name: 'a reformatted line (whitespace)',
    profiles: ['native'],
    tamper: (log) => {
      const lines = log.read(1)
      lines[2] = lines[2].replace('","event"', '", "event"')
      log.write(1, lines)
    },
    check: (r) => {
      expectProblem(r, 'hash-mismatch', 1, 3)
      assert.match(r.problems[0].message, /not as auditkit serializes it/)
    },
  },
  {
    name: 'a reformatted line (key order)',
    profiles: ['native'],
    tamper: (log) => {
      const lines = log.read(1)
      const entry = JSON.parse(lines[2])
      const {chain_hash: hash, ...rest} = entry
      lines[2] = JSON.stringify({event: rest.event, ...rest, chain_hash: hash})
      log.write(1, lines)
    },
    check: (r) => expectProblem(r, 'hash-mismatch', 1, 3),
  },
  {
    name: 'a duplicate key added to a line',
    profiles: both,
    tamper: (log) => {
      const lines = log.read(1)
      lines[2] =
        log.profile === 'native'
          ? lines[2].replace('{"timestamp"', '{"actor":"mallory","timestamp"')
          : lines[2].replace('"user_id": ', '"user_id": "mallory", "user_id": ')
      log.write(1, lines)
    },
    check: (r) => {
      // loki-mode's hash keeps the last value, so only the duplicate gives it away there.
      const problem = r.problems.find((p) => p.file === names[1] && p.line === 3)
      assert.ok(problem && (problem.kind === 'duplicate-key' || /duplicate key/.test(problem.message)), JSON.stringify(r.problems))
    },
  },
  ...['[1]', '123', 'null', '"x"'].map(
    (replacement): Case => ({
      name: `a line replaced by ${replacement}`,
      profiles: both,
      tamper: (log) => {
        const lines = log.read(1)
        lines[2] = replacement
        log.write(1, lines)
      },
      check: (r) => {
        expectProblem(r, 'not-object', 1, 3)
        expectProblem(r, 'hash-mismatch', 1, 4)
      },
    }),
  ),
  {
    name: 'a malformed line',
    profiles: both,
    tamper: (log) => {
      const lines = log.read(1)
      lines[2] = lines[2].slice(0, 40)
      log.write(1, lines)
    },
    check: (r) => expectProblem(r, 'malformed', 1, 3),
  },
  {
    name: 'a file converted to CRLF line endings',
    profiles: ['native'],
    tamper: (log) =>
      log.write(
        1,
        log.read(1).map((l) => `${l}\r`),
      ),
    check: (r) => {
      expectProblem(r, 'malformed', 1, 1)
      assert.match(r.problems.find((p) => p.kind === 'malformed')!.message, /ends with CR: CRLF line endings/)
    },
  },
  {
    name: 'a truncated .gz',
    profiles: both,
    tamper: (log) => {
      const text = `${log.read(1).join('\n')}\n`
      const gz = gzipSync(text)
      unlinkSync(join(log.dir, names[1]))
      writeFileSync(join(log.dir, `audit-${DAYS[1]}.001.jsonl.gz`), gz.subarray(0, gz.length - 20))
    },
    check: (r) => expectProblem(r, 'truncated-gzip'),
  },
  {
    name: 'a torn line in an older file not accounted for',
    profiles: both,
    tamper: (log) => {
      const lines = log.read(0)
      writeFileSync(join(log.dir, names[0]), `${lines.join('\n')}\n${lines[0].slice(0, 30)}`)
    },
    check: (r) => expectProblem(r, 'malformed', 0, PER_FILE + 1),
  },
  {
    name: 'a blank line inserted into a file a checkpoint sealed whole (v1 could not see it)',
    profiles: both,
    sealed: true,
    tamper: (log) => {
      const lines = log.read(1)
      lines.splice(2, 0, ' ')
      log.write(1, lines)
    },
    check: (r) => {
      expectProblem(r, 'checkpoint', 1)
      assert.match(
        r.problems.find((p) => p.kind === 'checkpoint')!.message,
        /changed since checkpoint #1 .* sealed it whole \(\d+ bytes, 6 lines, 6 entries; now \d+ bytes, 7 lines, 6 entries\)/,
      )
    },
  },
  {
    name: 'a blank line inserted above the sealed head in the head file',
    profiles: both,
    sealed: true,
    tamper: (log) => {
      const lines = log.read(2)
      lines.splice(1, 0, '')
      log.write(2, lines)
    },
    check: (r) =>
      assert.ok(
        r.problems.some((p) => p.file === names[2] && (p.kind === 'checkpoint' || p.kind === 'entries-missing')),
        JSON.stringify(r.problems),
      ),
  },
  {
    name: 'a forged audit.recovery entry does not excuse a different fragment',
    profiles: ['native'],
    tamper: (log) => {
      const lines = log.read(1)
      const fragment = lines[2].slice(0, 50)
      const rest = lines.slice(3).map((l) => unchain('native', l))
      const recovery = fixtureBody('native', DAYS[1], 99)
        .replace('"event":"auth.', '"event":"audit.recovery","x":"')
        .replace(
          /"details":\{[^}]*\}/,
          `"details":{"file":"${names[1]}","line":3,"fragment_bytes":${fragment.length + 1},"fragment_sha256":"${createHash('sha256').update(fragment).digest('hex')}"}`,
        )
      const {lines: tail} = chain('native', [recovery, ...rest], storedHash(lines[1]))
      log.write(1, [...lines.slice(0, 2), fragment, ...tail])
    },
    check: (r) => expectProblem(r, 'malformed', 1, 3),
  },
]

describe('verify detects tampering', () => {
  for (const c of detect) {
    for (const profile of c.profiles) {
      it(`${c.name} (${profile})`, async () => {
        const log = buildLog(profile)
        assert.equal((await verify(log)).valid, true, 'the untouched log verifies')
        if (c.sealed) await seal(log)
        c.tamper(log)
        c.check(await verify(log))
      })
    }
  }
  it('reports the same problems from worker threads', async () => {
    const log = buildLog('native')
    log.write(
      1,
      log.read(1).filter((_, i) => i !== 2),
    )
    const inline = await verify(log, 0)
    const threaded = await verify(log, 2)
    assert.deepEqual(threaded.problems, inline.problems)
    assert.equal(threaded.entries, inline.entries)
  })
})

/** A native audit.* entry body with the given details, stamped at `timestamp` when given. */
function auditBody(day: string, event: string, details: Record<string, unknown>, timestamp?: string): string {
  const body = fixtureBody('native', day, 0)
    .replace('"event":"auth.login"', `"event":"${event}"`)
    .replace(/"details":\{[^}]*\}/, `"details":${JSON.stringify(details)}`)
  return timestamp ? body.replace(/^\{"timestamp":"[^"]*"/, `{"timestamp":"${timestamp}"`) : body
}

/** A day after the fixture's last, late enough for a 1-day retention to prune its first two days. */
const PRUNE_TIME = '2026-03-04T12:00:00.000Z'

/** What auditkit's writer records for fixture file `f`. */
function removedRecord(log: Log, f: number): {file: string; entries: number; first: string; last: string; last_hash: string} {
  const lines = log.read(f)
  const time = (line: string) => JSON.parse(line).timestamp as string
  return {file: names[f], entries: lines.length, first: time(lines[0]), last: time(lines.at(-1)!), last_hash: storedHash(lines.at(-1)!)}
}

describe('verify does not cry wolf', () => {
  for (const profile of both) {
    it(`files whose mtimes were changed or swapped (${profile})`, async () => {
      const log = buildLog(profile)
      utimesSync(join(log.dir, names[0]), new Date(), new Date())
      utimesSync(join(log.dir, names[2]), new Date('2020-01-01'), new Date('2020-01-01'))
      const report = await verify(log)
      assert.equal(report.valid, true, JSON.stringify(report.problems))
      assert.equal(report.entries, 3 * PER_FILE)
    })
    it(`a last line still being written (${profile})`, async () => {
      const log = buildLog(profile)
      appendFileSync(join(log.dir, names[2]), log.read(2)[0].slice(0, 25))
      const report = await verify(log)
      assert.equal(report.valid, true, JSON.stringify(report.problems))
      assert.match(report.notes.join('\n'), /incomplete/)
    })
  }

  it("a directory pruned by auditkit's own retention", async () => {
    const log = buildLog('native')
    const first = log.read(0)
    const second = log.read(1)
    const third = log.read(2)
    assert.equal(storedHash(first.at(-1)!), removedRecord(log, 0).last_hash)
    const removed = [removedRecord(log, 0), removedRecord(log, 1)]
    const retention = auditBody(DAYS[2], 'audit.retention', {retention_days: 1, removed, earlier: {through: null, entries: 0}}, PRUNE_TIME)
    const {lines} = chain('native', [...third.map((l) => unchain('native', l)), retention], storedHash(second.at(-1)!))
    log.write(2, lines)
    await seal(log)
    unlinkSync(join(log.dir, names[0]))
    unlinkSync(join(log.dir, names[1]))
    const report = await verify(log)
    assert.equal(report.valid, true, JSON.stringify(report.problems))
    assert.match(report.notes.join('\n'), /pruned by retention/)
    assert.equal(report.chainLength, 3 * PER_FILE + 1)

    // A further deletion that no retention entry records is still caught.
    const fourth = chain('native', [fixtureBody('native', '2026-03-04', 0)], storedHash(lines.at(-1)!)).lines
    writeLog(log.dir, 'audit-2026-03-04.jsonl', fourth)
    unlinkSync(join(log.dir, names[2]))
    expectProblem(await verify(log), 'chain-start')
  })

  it('a forged audit.retention entry removing files younger than its own retention_days is reported', async () => {
    const log = buildLog('native')
    const [first, second, third] = [0, 1, 2].map((f) => log.read(f))
    const removed = [0, 1].map((f) => ({
      file: names[f],
      entries: PER_FILE,
      first: `${DAYS[f]}T00:00:00.000Z`,
      last: `${DAYS[f]}T10:00:00.000Z`,
      last_hash: storedHash([first, second][f].at(-1)!),
    }))
    const retention = auditBody(DAYS[2], 'audit.retention', {retention_days: 90, removed})
    log.write(2, chain('native', [...third.map((l) => unchain('native', l)), retention], storedHash(second.at(-1)!)).lines)
    unlinkSync(join(log.dir, names[0]))
    unlinkSync(join(log.dir, names[1]))
    const report = await verify(log)
    expectProblem(report, 'retention-record', 2, PER_FILE + 1)
    assert.match(
      report.problems[0].message,
      /removes audit-2026-03-01\.jsonl, whose last entry \(2026-03-01T10:00:00\.000Z\) is not older than its retention_days \(90\)/,
    )
  })

  it('a prune cut short between its unlinks: a file the record lists is still there', async () => {
    const log = buildLog('native')
    const [first, second, third] = [0, 1, 2].map((f) => log.read(f))
    assert.equal(storedHash(first.at(-1)!), removedRecord(log, 0).last_hash)
    const removed = [0, 1].map((f) => removedRecord(log, f))
    const retention = auditBody(DAYS[2], 'audit.retention', {retention_days: 1, removed}, PRUNE_TIME)
    log.write(2, chain('native', [...third.map((l) => unchain('native', l)), retention], storedHash(second.at(-1)!)).lines)
    unlinkSync(join(log.dir, names[0])) // the second unlink never happened
    const report = await verify(log)
    assert.equal(report.valid, true, JSON.stringify(report.problems))
    assert.equal(report.chainLength, 3 * PER_FILE + 1)
  })

  it('the first problem is the first in the log, also when over 1,000 problems were found before it was settled', async () => {
    const log = buildLog('native')
    const [first, second] = [0, 1].map((f) => log.read(f))
    first.splice(1, 0, 'garbage') // a bad line: settled only at the end, after the others
    log.write(0, first)
    // 1,100 lines whose field was edited (each a hash mismatch, found at once).
    const edited = Array.from({length: 1100}, (_, i) => second[i % second.length].replace(/"(alice|bob|carol)"/, '"mallory"'))
    log.write(1, edited)
    const report = await verify(log)
    assert.deepEqual(report.firstProblem, {file: names[0], line: 2})
    assert.ok(report.problemsOmitted > 0)
  })

  it('a sealed live file since rotated into a part and gzipped', async () => {
    const log = buildLog('native')
    await seal(log)
    const text = readFileSync(join(log.dir, names[2]))
    unlinkSync(join(log.dir, names[2]))
    writeFileSync(join(log.dir, `audit-${DAYS[2]}.001.jsonl.gz`), gzipSync(text))
    const next = chain('native', [fixtureBody('native', DAYS[2], 99)], storedHash(text.toString().trim().split('\n').at(-1)!))
    writeLog(log.dir, names[2], next.lines)
    const report = await verify(log)
    assert.equal(report.valid, true, JSON.stringify(report.problems))
    assert.equal(report.notSealed, 1)
  })

  it('a torn line accounted for by an audit.recovery entry', async () => {
    const log = buildLog('native')
    const lines = log.read(1)
    const fragment = lines[3].slice(0, 57)
    const recovery = auditBody(DAYS[1], 'audit.recovery', {
      file: names[1],
      line: 4,
      fragment_bytes: Buffer.byteLength(fragment),
      fragment_sha256: createHash('sha256').update(fragment).digest('hex'),
    })
    const rest = [recovery, ...lines.slice(3).map((l) => unchain('native', l))]
    const {lines: tail, head} = chain('native', rest, storedHash(lines[2]))
    log.write(1, [...lines.slice(0, 3), fragment, ...tail])
    log.write(
      2,
      chain(
        'native',
        log.read(2).map((l) => unchain('native', l)),
        head,
      ).lines,
    )
    const report = await verify(log)
    assert.equal(report.valid, true, JSON.stringify(report.problems))
    assert.match(report.notes.join('\n'), /torn line recovered/)
  })
})

describe('verify and lines no writer writes', () => {
  it('a file ending in megabytes of zero bytes without a newline (a power loss): one over-long line at its number', async () => {
    for (const profile of both) {
      const log = buildLog(profile)
      appendFileSync(join(log.dir, names[1]), Buffer.alloc(3 * 1024 * 1024))
      for (const threads of [0, 2]) {
        const report = await verify(log, threads)
        expectProblem(report, 'too-long', 1, PER_FILE + 1)
        assert.equal(report.problems.length, 1, JSON.stringify(report.problems))
        assert.match(report.problems[0].message, /^3145728 bytes, over the 1048576 a line may hold/)
      }
    }
  })

  it("a line of 50 MB ending like a chained line is reported by its size, in worker threads too (it exhausted a worker's heap)", async () => {
    for (const profile of both) {
      const log = buildLog(profile)
      const lines = log.read(1)
      lines.splice(2, 0, `{"x":"${'a'.repeat(50 * 1024 * 1024)}","chain_hash":"${'0'.repeat(64)}"}`)
      log.write(1, lines)
      for (const threads of [0, 2]) {
        const report = await verify(log, threads)
        expectProblem(report, 'too-long', 1, 3)
        assert.equal(report.problems.length, 1, JSON.stringify(report.problems))
        assert.match(report.problems[0].message, /^52428\d{3} bytes, over the 1048576 a line may hold; not checked$/)
      }
    }
  })
})

describe('verify and a gzip bomb of tiny lines', () => {
  it('two million blank lines in a .gz (1 MiB blocks of a million lines each) are read in worker threads without exhausting their heap', async () => {
    const log = buildLog('native')
    const lines = log.read(1)
    writeFileSync(
      join(log.dir, `${names[1]}.gz`),
      gzipSync(`${lines.slice(0, 3).join('\n')}\n${'\n'.repeat(2_000_000)}${lines.slice(3).join('\n')}\n`),
    )
    unlinkSync(join(log.dir, names[1]))
    const report = await verifyDirectory(log.dir, {threads: 2})
    assert.equal(report.valid, true, JSON.stringify(report.problems))
    assert.equal(report.entries, 3 * PER_FILE)
    assert.equal(report.files[1].lines, PER_FILE + 2_000_000)
  })
})

describe('verify --strict', () => {
  const flaws: {name: string; edit(body: string): string; kind: VerifyProblemKind; message: RegExp}[] = [
    {
      name: 'a duplicate key',
      edit: (b) => b.replace('{"timestamp"', '{"actor":"mallory","timestamp"'),
      kind: 'duplicate-key',
      message: /duplicate key \$\.actor/,
    },
    {
      name: 'a nested duplicate key',
      edit: (b) => b.replace('"details":{', '"details":{"n":-1,'),
      kind: 'duplicate-key',
      message: /duplicate key \$\.details\.n/,
    },
    {
      name: 'members out of order',
      edit: (b) => b.replace(/^\{("timestamp":"[^"]*"),("event":"[^"]*")/, '{$2,$1'),
      kind: 'not-canonical',
      message: /members event, timestamp/,
    },
    {
      name: 'whitespace',
      edit: (b) => b.replace('","level"', '", "level"'),
      kind: 'not-canonical',
      message: /not as auditkit serializes it/,
    },
    {name: 'an extra member', edit: (b) => b.replace(/\}$/, ',"extra":1}'), kind: 'not-canonical', message: /members .*extra/},
    {
      name: 'an event name the model refuses',
      edit: (b) => b.replace(/"event":"[^"]*"/, '"event":"Not An Event"'),
      kind: 'invalid-entry',
      message: /event: not a category\.action/,
    },
    {
      name: 'a level the writer does not write',
      edit: (b) => b.replace('"level":"info"', '"level":"warn"'),
      kind: 'invalid-entry',
      message: /level: "warn"/,
    },
    {name: 'a timestamp the writer does not write', edit: (b) => b.replace(/\.000Z/, 'Z'), kind: 'invalid-entry', message: /timestamp/},
  ]
  it('a correctly linked line nested 20,000 deep is reported, not a crash', async () => {
    const log = buildLog('native')
    const bodies = [0, 1, 2].flatMap((f) => log.read(f)).map((l) => unchain('native', l))
    bodies.splice(PER_FILE + 2, 0, `{"x":${'['.repeat(20_000)}${']'.repeat(20_000)}}`)
    const {lines} = chain('native', bodies)
    log.write(1, lines.slice(PER_FILE, 2 * PER_FILE + 1))
    log.write(2, lines.slice(2 * PER_FILE + 1))
    for (const threads of [0, 2]) {
      const report = await verifyDirectory(log.dir, {strict: true, threads})
      expectProblem(report, 'not-canonical', 1, 3)
    }
  })

  it('a blank line inserted (it shifts every line number after it)', async () => {
    const log = buildLog('native')
    const lines = log.read(1)
    lines.splice(2, 0, '  ')
    log.write(1, lines)
    assert.equal((await verifyDirectory(log.dir, {threads: 0})).valid, true, 'harmless to the chain')
    for (const threads of [0, 2]) {
      const report = await verifyDirectory(log.dir, {strict: true, threads})
      expectProblem(report, 'not-canonical', 1, 3)
      assert.equal(report.problems.length, 1, JSON.stringify(report.problems))
      assert.match(report.problems[0].message, /a blank line; the writer never writes one/)
    }
  })
  for (const flaw of flaws) {
    it(`${flaw.name} in a correctly linked line`, async () => {
      const log = buildLog('native')
      assert.equal((await verifyDirectory(log.dir, {strict: true})).valid, true, 'an untouched log passes --strict')
      // The chain recomputed after the flaw: every link holds, so the default does not parse it.
      const bodies = [0, 1, 2].flatMap((f) => log.read(f)).map((l) => unchain('native', l))
      bodies[PER_FILE + 2] = flaw.edit(bodies[PER_FILE + 2])
      const {lines} = chain('native', bodies)
      for (let f = 0; f < 3; f++) log.write(f, lines.slice(f * PER_FILE, (f + 1) * PER_FILE))
      assert.equal((await verifyDirectory(log.dir, {threads: 0})).valid, true)
      for (const threads of [0, 2]) {
        const report = await verifyDirectory(log.dir, {strict: true, threads})
        expectProblem(report, flaw.kind, 1, 3)
        assert.equal(report.problems.length, 1, JSON.stringify(report.problems))
        assert.match(report.problems[0].message, flaw.message)
      }
    })
  }

  it('one problem for a flawed line whose link also fails', async () => {
    const log = buildLog('native')
    const lines = log.read(1)
    lines[2] = lines[2].replace('{"timestamp"', '{"actor":"mallory","timestamp"')
    log.write(1, lines)
    const report = await verifyDirectory(log.dir, {strict: true, threads: 0})
    expectProblem(report, 'hash-mismatch', 1, 3)
    expectProblem(report, 'duplicate-key', 1, 3)
    assert.doesNotMatch(report.problems.find((p) => p.kind === 'hash-mismatch')!.message, /duplicate/)
  })
})

describe('integrity internals', () => {
  it('one sha256 hex helper: src/integrity/hash.ts', () => {
    assert.equal(sha256Hex('abc'), createHash('sha256').update('abc').digest('hex'))
    assert.equal(sha256Hex(Buffer.from('caf\u00e9')), createHash('sha256').update('caf\u00e9').digest('hex'))
    const dir = join(ROOT, 'src', 'integrity')
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.ts') && n !== 'hash.ts')) {
      const text = readFileSync(join(dir, name), 'utf8')
      assert.doesNotMatch(text, /crypto\.hash\(|\.digest\('hex'\)/, `${name} hashes to hex on its own`)
    }
  })

  it('one chain_hash suffix check for text and for bytes', () => {
    const {lines} = chain('native', [fixtureBody('native', DAYS[0], 0)])
    const samples = [
      lines[0],
      lines[0].replace('"}', '" }'),
      lines[0].slice(0, -1),
      lines[0].replace(',"chain_hash"', ',"chain_hasx"'),
      '{}',
      `{"a":"\u00e9${'x'.repeat(100)}"}`,
    ]
    for (const line of samples) {
      const bytes = Buffer.from(line)
      const text = splitChainedLine(line) !== undefined
      assert.equal(
        hasChainSuffix((i) => bytes[i], 0, bytes.length),
        text,
        line,
      )
      assert.equal(
        hasChainSuffix((i) => line.charCodeAt(i), 0, line.length),
        text,
        line,
      )
    }
  })
})

/** Appends chained native bodies to the end of fixture file `f`, chained from the log's head. */
function appendChained(log: Log, f: number, bodies: string[]): void {
  const lines = log.read(f)
  log.write(f, [...lines, ...chain('native', bodies, storedHash(lines.at(-1)!)).lines])
}

describe('forged audit.recovery and audit.retention entries (issue 7)', () => {
  /** A complete fake entry with its chain_hash member first, so verify takes the line for a torn fragment. */
  function fakeEntry(): string {
    const body = JSON.parse(fixtureBody('native', DAYS[0], 3)) as Record<string, unknown>
    return JSON.stringify({chain_hash: '0'.repeat(64), ...body, actor: 'admin-FAKE'})
  }

  it('an entry inserted below a checkpoint, excused by a forged audit.recovery at the end of the newest file', async () => {
    const log = buildLog('native')
    await seal(log)
    const lines = log.read(0)
    const fake = fakeEntry()
    lines.splice(3, 0, fake)
    log.write(0, lines)
    appendChained(log, 2, [
      auditBody(
        DAYS[2],
        'audit.recovery',
        {file: names[0], line: 4, fragment_bytes: Buffer.byteLength(fake), fragment_sha256: sha256Hex(fake)},
        `${DAYS[2]}T09:00:00.000Z`,
      ),
    ])
    const report = await verify(log)
    expectProblem(report, 'malformed', 0, 4)
    assert.doesNotMatch(report.notes.join('\n'), /torn line recovered/)
    const sealed = await sealDirectory(log.dir, privateKey)
    assert.equal(sealed.checkpoint, undefined, 'seal signs nothing over it')
  })

  it('an entry inserted below a checkpoint with a forged audit.recovery right after it (the chain recomputed after)', async () => {
    const log = buildLog('native')
    await seal(log)
    const all = [0, 1, 2].map((f) => log.read(f))
    const fake = fakeEntry()
    const recovery = auditBody(DAYS[0], 'audit.recovery', {
      file: names[0],
      line: 4,
      fragment_bytes: Buffer.byteLength(fake),
      fragment_sha256: sha256Hex(fake),
    })
    const bodies = all.flat().map((l) => unchain('native', l))
    bodies.splice(3, 0, recovery)
    const {lines} = chain('native', bodies)
    log.write(0, [...lines.slice(0, 3), fake, ...lines.slice(3, PER_FILE + 1)])
    log.write(1, lines.slice(PER_FILE + 1, 2 * PER_FILE + 1))
    log.write(2, lines.slice(2 * PER_FILE + 1))
    const report = await verify(log)
    assert.equal(report.valid, false)
    assert.ok(
      report.problems.some((p) => p.kind === 'checkpoint' || p.kind === 'entries-missing'),
      JSON.stringify(report.problems),
    )
  })

  for (const profile of both) {
    it(`a line that is not an entry, in a sealed file, changed to another of the same length (${profile})`, async () => {
      const log = buildLog(profile)
      log.write(0, [...log.read(0), ' '.repeat(10)])
      await seal(log)
      log.write(0, [...log.read(0).slice(0, -1), '\t'.repeat(10)])
      const report = await verify(log)
      expectProblem(report, 'checkpoint', 0)
      assert.match(report.problems[0].message, /a line that is not a chained entry was changed/)
    })
  }

  it('a forged audit.recovery that names a fragment two lines above it excuses nothing', async () => {
    const log = buildLog('native')
    const lines = log.read(1)
    const fragment = lines[3].slice(0, 57)
    const recovery = auditBody(DAYS[1], 'audit.recovery', {
      file: names[1],
      line: 4,
      fragment_bytes: Buffer.byteLength(fragment),
      fragment_sha256: sha256Hex(fragment),
    })
    const rest = [lines[3], recovery, ...lines.slice(4)].map((l) => (l === recovery ? l : unchain('native', l)))
    const {lines: tail, head} = chain('native', rest, storedHash(lines[2]))
    log.write(1, [...lines.slice(0, 3), fragment, ...tail])
    log.write(
      2,
      chain(
        'native',
        log.read(2).map((l) => unchain('native', l)),
        head,
      ).lines,
    )
    expectProblem(await verify(log), 'malformed', 1, 4)
  })

  /** The two oldest files of a sealed log deleted and a chained audit.retention entry appended to the newest. */
  async function pruneForged(
    details: (log: Log) => Record<string, unknown>,
    options: {timestamp?: string; retentionDays?: number; deleteBoth?: boolean} = {},
  ): Promise<VerifyReport> {
    const log = buildLog('native')
    await seal(log)
    const record = details(log)
    appendChained(log, 2, [auditBody(DAYS[2], 'audit.retention', record, options.timestamp ?? PRUNE_TIME)])
    unlinkSync(join(log.dir, names[0]))
    unlinkSync(join(log.dir, names[1]))
    return verifyDirectory(log.dir, {
      threads: 0,
      pubkey: publicKey,
      now: new Date('2026-03-05T00:00:00.000Z'),
      retentionDays: options.retentionDays,
    })
  }
  const honest = (log: Log) => ({
    retention_days: 1,
    removed: [removedRecord(log, 0), removedRecord(log, 1)],
    earlier: {through: null, entries: 0},
  })

  it('an honest record: valid, and the report says sealed entries were pruned on its word', async () => {
    const report = await pruneForged(honest)
    assert.equal(report.valid, true, JSON.stringify(report.problems))
    assert.match(report.notes.join('\n'), /12 sealed entries before the chain start were pruned on the word of audit\.retention entries/)
  })

  const forgeries: Array<[string, (log: Log) => Record<string, unknown>, {timestamp?: string; retentionDays?: number}, RegExp]> = [
    ['stamped in 2099', honest, {timestamp: '2099-01-01T00:00:00.000Z'}, /stamped 2099-01-01T00:00:00\.000Z, after the verifier's clock/],
    ['stamped before the entry it follows', honest, {timestamp: '2026-03-01T00:00:00.000Z'}, /before the entry it follows/],
    ['retention_days 0', (log) => ({...honest(log), retention_days: 0}), {}, /retention_days 0, not a positive/],
    ['retention_days missing', (log) => ({removed: honest(log).removed}), {}, /retention_days missing/],
    ['retention_days a string', (log) => ({...honest(log), retention_days: '1'}), {}, /retention_days "1"/],
    ['retention_days a fraction', (log) => ({...honest(log), retention_days: 0.001}), {}, /retention_days 0\.001/],
    [
      '"last": null for files with entries',
      (log) => ({...honest(log), removed: honest(log).removed.map((r) => ({...r, last: null}))}),
      {},
      /no time for its last entry/,
    ],
    [
      'removing files younger than its retention_days',
      (log) => ({...honest(log), retention_days: 30}),
      {},
      /not older than its retention_days \(30\)/,
    ],
    [
      'naming only one of the two deleted files',
      (log) => ({retention_days: 1, removed: [removedRecord(log, 1)]}),
      {},
      /account for 6 pruned entries before the chain start, the checkpoints sealed 12/,
    ],
    [
      'with counts that disagree with the checkpoints',
      (log) => ({...honest(log), removed: honest(log).removed.map((r, i) => (i === 0 ? {...r, entries: 2} : r))}),
      {},
      /account for 8 pruned entries before the chain start, the checkpoints sealed 12/,
    ],
    ['an honest record under a stricter --retention-days', honest, {retentionDays: 3}, /younger than the retention policy of 3 days/],
    [
      'claiming earlier prunes up to a file it also removes',
      (log) => ({retention_days: 1, removed: [removedRecord(log, 1)], earlier: {through: names[1], entries: 6}}),
      {},
      /earlier prunes removed files up to audit-2026-03-02\.jsonl, which is not before the first file it removes/,
    ],
    [
      'claiming earlier prunes of files younger than --retention-days',
      (log) => ({retention_days: 1, removed: [removedRecord(log, 1)], earlier: {through: names[0], entries: 6}}),
      {retentionDays: 3},
      /earlier prunes removed files up to audit-2026-03-01\.jsonl, a file younger than the retention policy of 3 days/,
    ],
  ]
  for (const [name, details, options, message] of forgeries) {
    it(`a forged audit.retention entry ${name}`, async () => {
      const report = await pruneForged(details, options)
      expectProblem(report, 'retention-record')
      assert.ok(
        report.problems.some((p) => p.kind === 'retention-record' && message.test(p.message)),
        JSON.stringify(report.problems),
      )
    })
  }
})

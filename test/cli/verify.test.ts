import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {appendFileSync, mkdirSync, readdirSync, readFileSync, rmdirSync, unlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'
import {describe, it} from 'node:test'

import {verifyDirectory} from '../../src/integrity/verify/index.js'
import {inParallel, runAudit, spawnAudit, tempDir, writeLog} from '../helpers.js'
import {makeKeys, seal} from '../library-setup.js'
import {exited, startChild} from '../unit/writer-support.js'
import {chain, fixtureBody, storedHash, unchain} from '../verify-fixtures.js'

function nativeLog(entries = 6): {dir: string; lines: string[]} {
  const dir = tempDir('verify-cli-')
  const {lines} = chain(
    'native',
    Array.from({length: entries}, (_, i) => fixtureBody('native', '2026-03-01', i)),
  )
  writeLog(dir, 'audit-2026-03-01.jsonl', lines)
  return {dir, lines}
}

describe('audit verify', () => {
  it('exit 0 and a summary for a valid log; --verbose lists files', async () => {
    const {dir, lines} = nativeLog()
    const r = await runAudit(['verify', '--dir', dir, '--verbose'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stderr, '')
    assert.match(r.stdout, /Log file audit-2026-03-01\.jsonl valid \(6 entries\)/)
    assert.match(r.stdout, /1\/1 log file valid, 0 invalid/)
    assert.match(r.stdout, /6 entries checked/)
    assert.ok(r.stdout.includes(`Chain head: audit-2026-03-01.jsonl:6 ${storedHash(lines[5])}`))
    assert.match(r.stdout, /Not sealed: 6 entries/)
    assert.match(r.stdout, /Verdict: VALID/)
  })

  it('exit 1, one stderr line per problem, the first bad location; --json one document', async () => {
    const {dir, lines} = nativeLog()
    lines[1] = lines[1].replace('"bob"', '"mallory"')
    lines[4] = '[1]'
    writeLog(dir, 'audit-2026-03-01.jsonl', lines)
    const r = await runAudit(['verify', '--dir', dir])
    assert.equal(r.code, 1)
    const errs = r.stderr.trim().split('\n')
    // Bad lines are held back until a later audit.recovery entry could account for them.
    assert.deepEqual(errs.map((l) => /line (\d+)/.exec(l)?.[1]).sort(), ['2', '5', '6'])
    assert.match(errs[0], /^Log file audit-2026-03-01\.jsonl line 2 INVALID: hash mismatch/)
    assert.match(r.stderr, /line 5 INVALID: a JSON value that is not an object \(an array\)/)
    assert.match(r.stdout, /First problem: audit-2026-03-01\.jsonl:2/)
    assert.match(r.stdout, /Verdict: INVALID \(3 problems\)/)
    const j = await runAudit(['verify', '--dir', dir, '--json'])
    assert.equal(j.code, 1)
    assert.equal(j.stderr, '')
    const doc = JSON.parse(j.stdout)
    assert.equal(doc.valid, false)
    assert.deepEqual(doc.firstProblem, {file: 'audit-2026-03-01.jsonl', line: 2})
    assert.deepEqual(
      doc.problems.map((p: {kind: string}) => p.kind),
      ['hash-mismatch', 'not-object', 'hash-mismatch'],
    )
  })

  it('exit 2 for bad usage: unknown profile, missing directory, missing checkpoint file, bad key', async () => {
    const {dir} = nativeLog()
    const cases = [
      ['--profile', 'xml'],
      ['--dir', join(dir, 'nope')],
      ['--checkpoints', join(dir, 'nope')],
      ['--pubkey', join(dir, 'audit-2026-03-01.jsonl')],
    ]
    const results = await inParallel(cases, (args) => runAudit(['verify', '--dir', dir, ...args]))
    for (const [i, args] of cases.entries()) {
      const r = results[i]
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr)
      assert.match(r.stderr, /^audit verify: error: /)
    }
  })

  it('sanitizes log content it prints', async () => {
    const {dir, lines} = nativeLog()
    lines[2] = unchain('native', lines[2]).replace('{"timestamp"', '{"actor":"\\u001b[31mred","timestamp"')
    lines[2] = lines[2].slice(0, -1) + ',"chain_hash":"' + '0'.repeat(64) + '"}'
    writeLog(dir, 'audit-2026-03-01.jsonl', lines)
    const r = await runAudit(['verify', '--dir', dir])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /duplicate key/)
    assert.doesNotMatch(r.stderr + r.stdout, /\u001b/)
  })

  it('verifies the prefix it saw of a log being appended to', async () => {
    const {dir, lines} = nativeLog(20_000)
    const path = join(dir, 'audit-2026-03-01.jsonl')
    let prev = storedHash(lines.at(-1)!)
    const child = spawnAudit(['verify', '--dir', dir, '--json'])
    child.stdin.end()
    let stdout = ''
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d
    })
    const done = new Promise<number | null>((resolve) => child.on('close', resolve))
    let running = true
    void done.then(() => {
      running = false
    })
    for (let i = 0; running && i < 5000; i++) {
      const {lines: more, head} = chain('native', [fixtureBody('native', '2026-03-01', 20_000 + i)], prev)
      prev = head
      // Half a line first: verify may see a write in progress.
      appendFileSync(path, more[0].slice(0, 40))
      await new Promise((r) => setImmediate(r))
      appendFileSync(path, `${more[0].slice(40)}\n`)
    }
    const code = await done
    const report = JSON.parse(stdout)
    assert.equal(code, 0, JSON.stringify(report.problems))
    assert.ok(report.entries >= 20_000)
    assert.ok(readFileSync(path, 'utf8').length > 0)
  })

  for (const compress of [false, true]) {
    it(`never reports a problem while a writer appends and size-rotates${compress ? ' and compresses' : ''}`, async () => {
      const dir = tempDir('verify-rotate-')
      const home = tempDir('verify-rotate-cfg-')
      const env: Record<string, string> = {AUDIT_MAX_SIZE_MB: '0.0001'}
      if (compress) {
        env.AUDIT_CONFIG = join(home, 'config.yaml')
        writeFileSync(env.AUDIT_CONFIG, 'compress: true\n')
      }
      // Four processes, each doing what back-to-back `audit log` runs do (test/unit/writer-child.ts
      // CHILD_MODE=runs): each entry appended by a writer of its own and, every entry being over
      // 0.0001 MB, the live file rotated into the next part (and gzipped with compress) right after.
      // Settings from `env` alone, as the binary gets them in spawnAudit.
      const isolated = {HOME: home, XDG_CONFIG_HOME: join(home, '.config')}
      const written = [0, 0, 0, 0]
      const children = written.map((_, w) => {
        const child = startChild({...isolated, ...env, CHILD_MODE: 'runs', CHILD_PAUSE_MS: '500', CHILD_DIR: dir, CHILD_NAME: String(w)})
        child.stdout?.setEncoding('utf8').on('data', (d: string) => {
          written[w] += d.split('\n').length - 1
        })
        return child
      })
      const writers = children.map(exited)
      const parts = () => readdirSync(dir).filter((f) => /\.\d{3}\.jsonl/.test(f))
      // Verify runs against the writers until they made what the assertions below look for;
      // the deadline is only there for a writer that does not.
      const enough = () => runs > 20 && parts().length > 10 && (!compress || readdirSync(dir).some((f) => f.endsWith('.gz')))
      let runs = 0
      try {
        // Each writer is in its loop (and so ends on SIGTERM after the entry in hand).
        while (written.some((n) => n === 0)) await new Promise((r) => setTimeout(r, 20))
        const deadline = Date.now() + 60_000
        while (!enough() && Date.now() < deadline) {
          // The binary, and (many more runs) the library call it makes.
          const r = await runAudit(['verify', '--dir', dir, '--json'], {env})
          const report = JSON.parse(r.stdout)
          assert.equal(r.code, 0, `audit verify: ${JSON.stringify(report.problems)}`)
          for (let i = 0; i < 20; i++) {
            const inline = await verifyDirectory(dir, {threads: 0})
            assert.equal(inline.valid, true, `${JSON.stringify(inline.problems)} in ${readdirSync(dir).sort().join(' ')}`)
            runs++
          }
          runs++
        }
        assert.ok(runs > 20)
      } finally {
        for (const child of children) child.kill('SIGTERM')
      }
      // Each writer ended after the entry in hand; one that failed rejects here with its stderr.
      await Promise.all(writers)
      const files = readdirSync(dir)
      assert.ok(files.filter((f) => /\.\d{3}\.jsonl/.test(f)).length > 10, files.join(' '))
      if (compress)
        assert.ok(
          files.some((f) => f.endsWith('.gz')),
          files.join(' '),
        )
      const final = await runAudit(['verify', '--dir', dir])
      assert.equal(final.code, 0, final.stderr)
    })
  }

  it('a directory with no log files is a problem, not a pass', async () => {
    const dir = tempDir('verify-empty-')
    writeFileSync(join(dir, 'notes.txt'), 'not a log\n')
    const r = await runAudit(['verify', '--dir', dir])
    assert.equal(r.code, 1, r.stdout)
    assert.equal(r.stderr, `Log directory INVALID: no log files in ${dir} (a wrong directory, or the logs were deleted)\n`)
    assert.match(r.stdout, /Results for .*: 0 log files\n/)
    assert.match(r.stdout, /Verdict: INVALID \(1 problem\)/)
    const j = JSON.parse((await runAudit(['verify', '--dir', dir, '--json'])).stdout)
    assert.equal(j.valid, false)
    assert.equal(j.problems[0].kind, 'no-log-files')
  })

  it('with --pubkey, a missing default checkpoint file is a problem; a missing named one is a usage error', async () => {
    const {dir} = nativeLog()
    const {key, pub} = await makeKeys()
    await seal(dir, key)
    assert.equal((await runAudit(['verify', '--dir', dir, '--pubkey', pub])).code, 0)
    // Emptying the file instead of deleting it hides just as much.
    writeFileSync(join(dir, 'audit.checkpoints'), '')
    const emptied = await runAudit(['verify', '--dir', dir, '--pubkey', pub])
    assert.equal(emptied.code, 1, emptied.stderr)
    assert.match(emptied.stderr, /holds no checkpoint, though a public key was given/)
    // What an attacker who cuts the log also does: delete the checkpoints beside it.
    unlinkSync(join(dir, 'audit.checkpoints'))
    const cut = await runAudit(['verify', '--dir', dir, '--pubkey', pub])
    assert.equal(cut.code, 1, cut.stderr)
    assert.match(cut.stderr, /^Checkpoint file .*audit\.checkpoints INVALID: checkpoint file missing: /)
    assert.match(cut.stdout, /Checkpoints: 0 in .*audit\.checkpoints, signatures checked/)
    const named = await runAudit(['verify', '--dir', dir, '--pubkey', pub, '--checkpoints', join(dir, 'audit.checkpoints')])
    assert.equal(named.code, 2)
    assert.equal(named.stderr, `audit verify: error: ${join(dir, 'audit.checkpoints')}: no such file\n`)
    const plain = await runAudit(['verify', '--dir', dir])
    assert.equal(plain.code, 0, plain.stderr)
    assert.match(plain.stdout, /Checkpoints: none/)
  })

  it('a FIFO or directory named like a log or the checkpoint file is damage, reported without hanging; other readers warn or refuse', async () => {
    const {dir} = nativeLog()
    execFileSync('mkfifo', [join(dir, 'audit-2026-03-02.jsonl')])
    // A reader that opened the FIFO would wait forever: runAudit's limit catches that (15 s here did
    // not leave room for three starts at once on a loaded machine).
    const [fifo, search, log] = await Promise.all([
      runAudit(['verify', '--dir', dir]),
      runAudit(['search', '--dir', dir, '--count']),
      runAudit(['log', 'a.b', '--dir', dir]),
    ])
    assert.equal(fifo.code, 1, fifo.stderr)
    assert.match(fifo.stderr, /^Log file audit-2026-03-02\.jsonl INVALID: cannot be read \(not a regular file\)$/m)
    assert.equal(search.stdout, '6\n')
    assert.match(search.stderr, /1 unreadable file, at audit-2026-03-02\.jsonl \(not a regular file\)/)
    assert.equal(log.code, 2)
    assert.match(log.stderr, /audit-2026-03-02\.jsonl: not a regular file\n$/)
    unlinkSync(join(dir, 'audit-2026-03-02.jsonl'))

    // The default checkpoint file replaced by a directory: reported with the logs, which are still checked.
    mkdirSync(join(dir, 'audit.checkpoints'))
    const replaced = await runAudit(['verify', '--dir', dir])
    assert.equal(replaced.code, 1, replaced.stderr)
    assert.match(replaced.stderr, /^Checkpoint file .*audit\.checkpoints INVALID: not a regular file; no checkpoint was checked$/m)
    assert.match(replaced.stdout, /6 entries checked/)
    rmdirSync(join(dir, 'audit.checkpoints'))
    execFileSync('mkfifo', [join(dir, 'audit.checkpoints')])
    assert.equal((await runAudit(['verify', '--dir', dir])).code, 1)
    const {key} = await makeKeys()
    const sealed = await runAudit(['seal', '--dir', dir, '--key', key])
    assert.equal(sealed.code, 2)
    assert.match(sealed.stderr, /audit\.checkpoints: not a regular file\n$/)
  })

  it('one-line messages for missing key files; counts in the singular', async () => {
    const {dir} = nativeLog(1)
    const r = await runAudit(['verify', '--dir', dir, '--verbose'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /Results for .*: 1 log file \(profile native\)\n/)
    assert.match(r.stdout, /valid \(1 entry\)/)
    assert.match(r.stdout, /1\/1 log file valid, 0 invalid/)
    assert.match(r.stdout, /^1 entry checked$/m)
    assert.match(r.stdout, /Not sealed: 1 entry\n/)
    const missing = await runAudit(['verify', '--dir', dir, '--pubkey', join(dir, 'nope.pub')])
    assert.equal(missing.code, 2)
    assert.equal(missing.stderr, `audit verify: error: ${join(dir, 'nope.pub')}: no such file\n`)
  })

  it('a log whose files are all missing says so, without "(profile none)"', async () => {
    const {dir} = nativeLog(3)
    const {key, pub} = await makeKeys()
    await seal(dir, key)
    unlinkSync(join(dir, 'audit-2026-03-01.jsonl'))
    const r = await runAudit(['verify', '--dir', dir, '--pubkey', pub])
    assert.equal(r.code, 1)
    assert.match(r.stdout, /Results for .*: 0 log files, 1 missing\n/)
    assert.doesNotMatch(r.stdout, /profile none/)
    assert.match(r.stdout, /0\/1 log file valid, 1 invalid/)
    assert.match(r.stdout, /^0 entries checked$/m)
  })

  it('--strict reports a correctly linked line the writer cannot have written', async () => {
    const {dir, lines} = nativeLog()
    // A duplicate nested key, with the chain recomputed from there on: the links all hold.
    const bodies = lines.map((l) => unchain('native', l))
    bodies[2] = bodies[2].replace('"details":{', '"details":{"ip":"10.9.9.9",')
    writeLog(dir, 'audit-2026-03-01.jsonl', chain('native', bodies).lines)
    const plain = await runAudit(['verify', '--dir', dir])
    assert.equal(plain.code, 0, 'the default does not parse linked lines')
    const strict = await runAudit(['verify', '--dir', dir, '--strict'])
    assert.equal(strict.code, 1)
    assert.equal(strict.stderr, 'Log file audit-2026-03-01.jsonl line 3 INVALID: duplicate key $.details.ip, though its hash links\n')
  })
})

describe('audit verify and a gzip bomb of one endless line', () => {
  it('200 MB of one line behind a 200 KB .gz: reported as a line over 1 MiB in a heap of 96 MB, the file after it still checked', async () => {
    const dir = tempDir('verify-bomb-')
    const {lines} = chain(
      'native',
      [0, 1].map((i) => fixtureBody('native', '2026-03-01', i)),
    )
    writeFileSync(join(dir, 'audit-2026-03-01.001.jsonl.gz'), gzipSync(Buffer.alloc(200_000_000, 'x'), {level: 1}))
    writeLog(dir, 'audit-2026-03-01.jsonl', lines)
    // A reader that held the line whole would need 200 MB of heap: with 96 MB it would die (SIGABRT).
    const r = await runAudit(['verify', '--dir', dir, '--json'], {env: {NODE_OPTIONS: '--max-old-space-size=96'}})
    assert.equal(r.code, 1, r.stderr)
    const report = JSON.parse(r.stdout)
    assert.equal(report.files.length, 2)
    assert.deepEqual(
      [report.problems[0].kind, report.problems[0].file, report.problems[0].line],
      ['too-long', 'audit-2026-03-01.001.jsonl.gz', 1],
    )
    assert.equal(report.files[1].entries, 2)
  })
})

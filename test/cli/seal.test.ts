import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {runAudit, tempDir, writeLog} from '../helpers.js'
import {logAt, makeKeys, pruneAt, seal} from '../library-setup.js'
import {chain, fixtureBody, storedHash} from '../verify-fixtures.js'

const made = new Map<string, Promise<{key: string; pub: string}>>()
/** A key pair as audit keygen makes it, once per name for the whole file: the tests only read it. */
function keys(name = 'main'): Promise<{key: string; pub: string}> {
  let pair = made.get(name)
  if (!pair) {
    pair = makeKeys()
    made.set(name, pair)
  }
  return pair
}

describe('audit seal', () => {
  it('seals, verifies with the key, refuses a wrong key, and catches a cut', async () => {
    const [{key, pub}, other] = await Promise.all([keys(), keys('other')])
    const dir = tempDir('seal-')
    const cps = join(tempDir('seal-cp-'), 'log.checkpoints')
    const {lines} = chain(
      'native',
      Array.from({length: 8}, (_, i) => fixtureBody('native', '2026-03-01', i)),
    )
    writeLog(dir, 'audit-2026-03-01.jsonl', lines.slice(0, 5))
    const sealed = await runAudit(['seal', '--dir', dir, '--key', key, '--checkpoints', cps])
    assert.equal(sealed.code, 0, sealed.stderr)
    assert.match(sealed.stdout, /^sealed checkpoint #1: 5 entries, head audit-2026-03-01\.jsonl:5 [0-9a-f]{64}/)
    assert.equal((await runAudit(['seal', '--dir', dir, '--key', key, '--checkpoints', cps, '--json'])).code, 0)
    writeLog(dir, 'audit-2026-03-01.jsonl', lines)

    const [ok, wrong] = await Promise.all([
      runAudit(['verify', '--dir', dir, '--pubkey', pub, '--checkpoints', cps]),
      runAudit(['verify', '--dir', dir, '--pubkey', other.pub, '--checkpoints', cps]),
    ])
    assert.equal(ok.code, 0, ok.stderr)
    assert.match(ok.stdout, /Checkpoints: 2 in .*signatures checked with key [0-9a-f]{8}/)
    assert.match(ok.stdout, /Not sealed: 3 entries after the last checkpoint/)

    assert.equal(wrong.code, 1)
    assert.match(wrong.stderr, /Checkpoint file .* INVALID: checkpoint #1: signed by another key/)

    writeLog(dir, 'audit-2026-03-01.jsonl', lines.slice(0, 4))
    const cut = await runAudit(['verify', '--dir', dir, '--pubkey', pub, '--checkpoints', cps])
    assert.equal(cut.code, 1)
    assert.match(cut.stderr, /Log file audit-2026-03-01\.jsonl line 4 INVALID: entries missing below checkpoint #1/)
    writeLog(dir, 'audit-2026-03-01.jsonl', [])
    const emptied = await runAudit(['verify', '--dir', dir, '--pubkey', pub, '--checkpoints', cps, '--json'])
    const report = JSON.parse(emptied.stdout)
    assert.deepEqual(report.firstProblem, {file: 'audit-2026-03-01.jsonl'})
    assert.match(report.problems[0].message, /it sealed line 5, the file now is empty$/)
    writeLog(dir, 'audit-2026-03-01.jsonl', lines.slice(0, 4))
    const refused = await runAudit(['seal', '--dir', dir, '--key', key, '--checkpoints', cps])
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /not sealed: the log does not verify/)
  })

  it('a checkpoint whose head file went in an earlier prune (its retention record pruned since) is a note, not a missing file', async () => {
    const {key, pub} = await keys()
    const dir = tempDir('seal-')
    const cps = join(tempDir('seal-cp-'), 'log.checkpoints')
    // Set up in this process (the binary's log, prune and seal are tested on their own).
    await logAt(dir, -10, 'a.one')
    await seal(dir, key, cps)
    // The sealed file goes in one prune; the file holding that prune's record goes in the next.
    await logAt(dir, -8, 'a.two')
    await pruneAt(dir, -8, 1)
    await logAt(dir, -5, 'a.three')
    assert.equal((await pruneAt(dir, -5, 1)).length, 1)
    const verified = await runAudit(['verify', '--dir', dir, '--pubkey', pub, '--checkpoints', cps])
    assert.equal(verified.code, 0, verified.stderr)
    assert.match(
      verified.stdout,
      /checkpoint #1 \([^)]+\): its head file audit-\d{4}-\d{2}-\d{2}\.jsonl was pruned by retention, not checked/,
    )
    assert.equal((await runAudit(['seal', '--dir', dir, '--key', key, '--checkpoints', cps])).code, 0)
  })

  it('after prunes removed every sealed head, the next checkpoint still counts forward and the sequence holds', async () => {
    const {key, pub} = await keys()
    const dir = tempDir('seal-')
    // Written in this process, each entry by its own writer as `audit log app.ev --retention-days 2` would.
    const log = (days: number) => logAt(dir, days, 'app.ev', 2)
    // More entries before the prunes than the prunes' last record and what follows count.
    for (const days of [...Array(10).fill(-5), -4, -4]) await log(days)
    const first = await runAudit(['seal', '--dir', dir, '--key', key])
    assert.match(first.stdout, /^sealed checkpoint #1: 12 entries/)
    for (const days of [-3, -2, -1, 0]) await log(days) // each prunes the oldest day
    const before = await runAudit(['verify', '--dir', dir, '--pubkey', pub])
    assert.equal(before.code, 0, before.stderr)
    assert.match(
      before.stdout,
      /sealed entries were pruned on the word of the audit\.retention entry at audit-\S+:\d+, which no checkpoint covers yet/,
    )
    const second = await runAudit(['seal', '--dir', dir, '--key', key])
    assert.equal(second.code, 0, second.stderr)
    const counted = Number(/^sealed checkpoint #2: (\d+) entries/.exec(second.stdout)?.[1])
    assert.ok(counted > 12, second.stdout)
    const verified = await runAudit(['verify', '--dir', dir, '--pubkey', pub])
    assert.equal(verified.code, 0, verified.stderr)
  })

  it('starts the sequence in an empty checkpoint file made ahead (owner and mode set by an admin)', async () => {
    const {key, pub} = await keys()
    const dir = tempDir('seal-')
    const cps = join(tempDir('seal-cp-'), 'made-ahead.checkpoints')
    writeFileSync(cps, '', {mode: 0o600})
    writeLog(dir, 'audit-2026-03-01.jsonl', chain('native', [fixtureBody('native', '2026-03-01', 0)]).lines)
    const sealed = await runAudit(['seal', '--dir', dir, '--key', key, '--checkpoints', cps])
    assert.equal(sealed.code, 0, sealed.stderr)
    assert.match(sealed.stdout, /^sealed checkpoint #1: 1 entry/)
    assert.equal((await runAudit(['verify', '--dir', dir, '--pubkey', pub, '--checkpoints', cps])).code, 0)
  })

  it('gives one-line errors for a missing or wrong key file and an empty log', async () => {
    const dir = tempDir('seal-')
    const missing = await runAudit(['seal', '--dir', dir, '--key', join(dir, 'nope.key')])
    assert.equal(missing.code, 2)
    assert.equal(missing.stderr, `audit seal: error: ${join(dir, 'nope.key')}: no such file\n`)
    const bogus = join(dir, 'bogus.key')
    writeFileSync(bogus, 'not a key')
    const bad = await runAudit(['seal', '--dir', dir, '--key', bogus])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /^audit seal: error: .*not a PEM private key\n$/)
    const {key} = await keys()
    const empty = await runAudit(['seal', '--dir', dir, '--key', key])
    assert.equal(empty.code, 1)
    assert.match(empty.stderr, /nothing to seal/)
    assert.equal(readFileSync(key, 'utf8').startsWith('-----BEGIN'), true)
  })

  it('overlapping seals of one checkpoint file take turns', async () => {
    const {key, pub} = await keys()
    const dir = tempDir('seal-')
    // Enough entries that their verification runs overlap.
    const {lines} = chain(
      'native',
      Array.from({length: 100_000}, (_, i) => fixtureBody('native', '2026-03-01', i)),
    )
    writeLog(dir, 'audit-2026-03-01.jsonl', lines)
    // They take turns, each verifying the whole log: the last waits for the other three. That took
    // 29 s at load 13 on 2 cores, against runAudit's default of 30 s.
    const runs = await Promise.all(Array.from({length: 4}, () => runAudit(['seal', '--dir', dir, '--key', key], {timeoutMs: 240_000})))
    for (const r of runs) assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(runs.map((r) => Number(/#(\d+)/.exec(r.stdout)?.[1])).sort(), [1, 2, 3, 4])
    const v = await runAudit(['verify', '--dir', dir, '--pubkey', pub])
    assert.equal(v.code, 0, v.stderr)
    assert.match(v.stdout, /Checkpoints: 4 in/)
    assert.equal(existsSync(join(dir, 'audit.checkpoints.lock')), false)
  })

  it('one-line errors for a checkpoint file in a missing directory, a missing log directory, a checkpoint file named like a log; counts in the singular', async () => {
    const {key} = await keys()
    const dir = tempDir('seal-')
    writeLog(dir, 'audit-2026-03-01.jsonl', chain('native', [fixtureBody('native', '2026-03-01', 0)]).lines)
    // Each is refused before anything is written, so they can run side by side.
    const [nowhere, noLogs, intoLog, verifyFile] = await Promise.all([
      runAudit(['seal', '--dir', dir, '--key', key, '--checkpoints', join(dir, 'no', 'cps')]),
      runAudit(['seal', '--dir', join(dir, 'absent'), '--key', key]),
      // Checkpoints appended to a log file would read as damaged entries.
      runAudit(['seal', '--dir', dir, '--key', key, '--checkpoints', join(dir, 'audit-2026-03-02.jsonl')]),
      runAudit(['verify', '--dir', join(dir, 'audit-2026-03-01.jsonl')]),
    ])
    assert.equal(nowhere.code, 2)
    assert.equal(nowhere.stderr, `audit seal: error: ${join(dir, 'no')}: no such directory (for the checkpoint file)\n`)
    assert.equal(noLogs.stderr, `audit seal: error: ${join(dir, 'absent')}: no such directory\n`)
    assert.equal(intoLog.code, 2)
    assert.match(intoLog.stderr, /audit-2026-03-02\.jsonl: named like a log file; checkpoints go in a file of their own\n$/)
    assert.equal(existsSync(join(dir, 'audit-2026-03-02.jsonl')), false)
    assert.equal(verifyFile.stderr, `audit verify: error: ${join(dir, 'audit-2026-03-01.jsonl')}: not a directory\n`)
    const one = await runAudit(['seal', '--dir', dir, '--key', key])
    assert.equal(one.code, 0, one.stderr)
    assert.match(one.stdout, /^sealed checkpoint #1: 1 entry, head /)
  })
})

describe('issue 7: forgeries in sealed history, as an attacker without the key would make them', () => {
  it('a fake entry inserted into a sealed closed file (chain_hash first) plus a forged audit.recovery at the end: verify exit 1, seal refuses, search and summary skip it with a warning', async () => {
    const {key, pub} = await keys()
    const dir = tempDir('seal-forge-')
    const days = ['2026-03-01', '2026-03-02']
    const {lines} = chain(
      'native',
      Array.from({length: 8}, (_, i) => fixtureBody('native', days[i < 4 ? 0 : 1], i)),
    )
    writeLog(dir, `audit-${days[0]}.jsonl`, lines.slice(0, 4))
    writeLog(dir, `audit-${days[1]}.jsonl`, lines.slice(4))
    await seal(dir, key)
    const body = JSON.parse(fixtureBody('native', days[0], 2)) as Record<string, unknown>
    const fake = JSON.stringify({chain_hash: '0'.repeat(64), ...body, actor: 'admin-FAKE'})
    writeLog(dir, `audit-${days[0]}.jsonl`, [...lines.slice(0, 3), fake, lines[3]])
    const recovery = fixtureBody('native', days[1], 9)
      .replace(/"event":"[^"]*"/, '"event":"audit.recovery"')
      .replace(
        /"details":\{[^}]*\}/,
        `"details":${JSON.stringify({file: `audit-${days[0]}.jsonl`, line: 4, fragment_bytes: Buffer.byteLength(fake), fragment_sha256: createHash('sha256').update(fake).digest('hex')})}`,
      )
    writeLog(dir, `audit-${days[1]}.jsonl`, [...lines.slice(4), ...chain('native', [recovery], storedHash(lines[7])).lines])
    const [verified, search, summary] = await Promise.all([
      runAudit(['verify', '--dir', dir, '--pubkey', pub]),
      runAudit(['search', '--dir', dir, '--actor', 'admin-FAKE', '--format', 'csv']),
      runAudit(['summary', '--dir', dir, '--json', '--no-cache']),
    ])
    assert.equal(verified.code, 1, verified.stdout)
    assert.match(verified.stderr, /audit-2026-03-01\.jsonl line 4 INVALID: chain_hash is not the last member/)
    assert.equal((await runAudit(['seal', '--dir', dir, '--key', key])).code, 1)
    assert.equal(search.code, 1, search.stdout)
    assert.doesNotMatch(search.stdout, /admin-FAKE/)
    assert.match(search.stderr, /warning: 1 malformed line, at audit-2026-03-01\.jsonl:4 \(chain_hash is not the last member/)
    assert.doesNotMatch(summary.stdout, /admin-FAKE/)
  })

  it('--retention-days: a prune the writer made at 1 day is a problem under a 30-day policy, flag or config', async () => {
    const dir = tempDir('seal-policy-')
    await logAt(dir, -3, 'a.one')
    await logAt(dir, 0, 'a.two')
    await pruneAt(dir, 0, 1)
    // verify only reads: the four runs go side by side.
    const [plain, policy, env, bad] = await Promise.all([
      runAudit(['verify', '--dir', dir]),
      runAudit(['verify', '--dir', dir, '--retention-days', '30']),
      runAudit(['verify', '--dir', dir], {env: {AUDIT_RETENTION_DAYS: '30'}}),
      runAudit(['verify', '--dir', dir, '--retention-days', 'x']),
    ])
    assert.equal(plain.code, 0, plain.stderr)
    assert.equal(policy.code, 1, policy.stdout)
    assert.match(
      policy.stderr,
      /INVALID: audit\.retention entry removes audit-\S+, whose last entry \([^)]+\) was younger than the retention policy of 30 days/,
    )
    assert.equal(env.code, 1, env.stdout)
    assert.equal(bad.code, 2)
    // seal holds the config's policy too: it signs nothing over such a prune.
    const {key} = await keys()
    const refused = await runAudit(['seal', '--dir', dir, '--key', key], {env: {AUDIT_RETENTION_DAYS: '30'}})
    assert.equal(refused.code, 1, refused.stdout)
    assert.equal(existsSync(join(dir, 'audit.checkpoints')), false)
    assert.equal((await runAudit(['seal', '--dir', dir, '--key', key])).code, 0)
  })
})

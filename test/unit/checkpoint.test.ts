import assert from 'node:assert/strict'
import {generateKeyPairSync} from 'node:crypto'
import {appendFileSync, existsSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {checkpointDigest, checkSequence, NO_PREVIOUS, parseCheckpoints, signCheckpoint} from '../../src/integrity/checkpoint.js'
import {SealError, sealDirectory} from '../../src/integrity/seal.js'
import {verifyDirectory} from '../../src/integrity/verify/index.js'
import {tempDir, writeLog} from '../helpers.js'
import {chain, fixtureBody} from '../verify-fixtures.js'

const keys = generateKeyPairSync('ed25519')
const other = generateKeyPairSync('ed25519')

/** A log sealed three times, growing in between; returns the dir and the checkpoint file path. */
async function sealedLog(): Promise<{dir: string; path: string}> {
  const dir = tempDir('checkpoint-')
  const bodies = Array.from({length: 9}, (_, i) => fixtureBody('native', '2026-03-01', i))
  const {lines} = chain('native', bodies)
  for (let n = 3; n <= 9; n += 3) {
    writeLog(dir, 'audit-2026-03-01.jsonl', lines.slice(0, n))
    const result = await sealDirectory(dir, keys.privateKey, {now: new Date(Date.UTC(2026, 2, 1, n))})
    assert.equal(result.checkpoint?.entries, n)
  }
  return {dir, path: join(dir, 'audit.checkpoints')}
}

describe('checkpoints', () => {
  it('round-trips: three checkpoints, signatures and sequence hold', async () => {
    const {dir, path} = await sealedLog()
    const cps = parseCheckpoints(readFileSync(path, 'utf8'), path)
    assert.equal(cps.length, 3)
    assert.deepEqual(
      cps.map((c) => [c.entries, c.line]),
      [
        [3, 3],
        [6, 6],
        [9, 9],
      ],
    )
    assert.match(
      cps[0].text,
      /^auditkit checkpoint v2\n3\n[0-9a-f]{64}\nfile audit-2026-03-01\.jsonl\nline 3\ntime 2026-03-01T03:00:00\.000Z\nprev 0{64}\nbytes \d+\nother [0-9a-f]{64}\n\n\u2014 auditkit [A-Za-z0-9+/=]+\n$/,
    )
    assert.equal(cps[0].bytes, readFileSync(join(dir, 'audit-2026-03-01.jsonl')).subarray(0, cps[0].bytes).length)
    assert.deepEqual(checkSequence(cps, keys.publicKey), [])
    const report = await verifyDirectory(dir, {pubkey: keys.publicKey})
    assert.equal(report.valid, true, JSON.stringify(report.problems))
    assert.equal(report.notSealed, 0)
  })

  it('rejects a wrong key', async () => {
    const {path} = await sealedLog()
    const problems = checkSequence(parseCheckpoints(readFileSync(path, 'utf8'), path), other.publicKey)
    assert.equal(problems.length, 3)
    assert.match(problems[0].message, /another key/)
  })

  it('rejects a forged signature (body changed, signature kept)', async () => {
    const {dir, path} = await sealedLog()
    writeFileSync(path, readFileSync(path, 'utf8').replace('\n6\n', '\n5\n'))
    const report = await verifyDirectory(dir, {pubkey: keys.publicKey})
    assert.equal(report.valid, false)
    assert.ok(
      report.problems.some((p) => p.kind === 'checkpoint-file' && /bad signature/.test(p.message)),
      JSON.stringify(report.problems),
    )
  })

  it('rejects a removed checkpoint and a reordered file', async () => {
    const {dir, path} = await sealedLog()
    const text = readFileSync(path, 'utf8')
    const parts = text.split('\n\n\u2014').length
    assert.equal(parts, 4)
    const cps = parseCheckpoints(text, path)
    writeFileSync(path, [cps[0].text, cps[2].text].join('\n'))
    let report = await verifyDirectory(dir, {pubkey: keys.publicKey})
    assert.ok(
      report.problems.some((p) => /does not follow checkpoint #1/.test(p.message)),
      JSON.stringify(report.problems),
    )
    writeFileSync(path, [cps[1].text, cps[0].text, cps[2].text].join('\n'))
    report = await verifyDirectory(dir, {pubkey: keys.publicKey})
    assert.equal(report.valid, false)
    assert.ok(
      report.problems.some((p) => /first in the file/.test(p.message)),
      JSON.stringify(report.problems),
    )
  })

  it('reports a malformed checkpoint file as a problem, not a crash', async () => {
    const {dir, path} = await sealedLog()
    writeFileSync(path, readFileSync(path, 'utf8').replace('line 6', 'line six'))
    const report = await verifyDirectory(dir, {pubkey: keys.publicKey})
    assert.equal(report.valid, false)
    assert.equal(report.problems[0].kind, 'checkpoint-file')
  })

  it('a checkpoint file cut mid-checkpoint: the damage at its line, and the complete checkpoints before it still locate a cut log', async () => {
    const {dir, path} = await sealedLog()
    const text = readFileSync(path, 'utf8')
    const thirdLine = parseCheckpoints(text, path)[2].fileLine
    const third =
      text
        .split('\n')
        .slice(0, thirdLine - 1)
        .join('\n').length + 1 // where checkpoint #3 starts
    writeFileSync(path, text.slice(0, third + 40))
    writeLog(
      dir,
      'audit-2026-03-01.jsonl',
      chain(
        'native',
        Array.from({length: 5}, (_, i) => fixtureBody('native', '2026-03-01', i)),
      ).lines,
    )
    const report = await verifyDirectory(dir, {pubkey: keys.publicKey})
    const damage = report.problems.find((p) => p.kind === 'checkpoint-file')
    assert.deepEqual(
      [damage?.line, damage?.message],
      [thirdLine, 'checkpoint without a signature; the 2 checkpoints before it were checked'],
    )
    // Checkpoint #2 sealed 6 entries; the log now holds 5.
    assert.ok(
      report.problems.some((p) => p.kind === 'entries-missing' && /checkpoint #2/.test(p.message)),
      JSON.stringify(report.problems),
    )
  })

  it('counts the entries after the last checkpoint as not sealed', async () => {
    const {dir} = await sealedLog()
    const {lines} = chain(
      'native',
      Array.from({length: 11}, (_, i) => fixtureBody('native', '2026-03-01', i)),
    )
    writeLog(dir, 'audit-2026-03-01.jsonl', lines)
    const report = await verifyDirectory(dir, {pubkey: keys.publicKey})
    assert.equal(report.valid, true)
    assert.equal(report.notSealed, 2)
  })

  it('does not seal a log that fails verification', async () => {
    const {dir, path} = await sealedLog()
    const before = readFileSync(path, 'utf8')
    const file = join(dir, 'audit-2026-03-01.jsonl')
    writeFileSync(file, readFileSync(file, 'utf8').replace('"alice"', '"mallory"'))
    const result = await sealDirectory(dir, keys.privateKey)
    assert.equal(result.checkpoint, undefined)
    assert.equal(readFileSync(path, 'utf8'), before)
  })

  it('refuses to seal while the clock is behind the last checkpoint (the sequence would go backwards for good)', async () => {
    const {dir, path} = await sealedLog() // the last checkpoint is of 2026-03-01T09:00Z
    const before = readFileSync(path, 'utf8')
    await assert.rejects(
      sealDirectory(dir, keys.privateKey, {now: new Date(Date.UTC(2026, 2, 1, 8))}),
      (error: Error) =>
        error instanceof SealError &&
        /the clock \(2026-03-01T08:00:00\.000Z\) is behind the last checkpoint's time \(2026-03-01T09:00:00\.000Z\)/.test(error.message),
    )
    assert.equal(readFileSync(path, 'utf8'), before)
    assert.ok((await sealDirectory(dir, keys.privateKey, {now: new Date(Date.UTC(2026, 2, 1, 10))})).checkpoint)
  })

  it('overlapping seals take turns: each names the one before, none goes backwards', async () => {
    const dir = tempDir('checkpoint-')
    const {lines} = chain(
      'native',
      Array.from({length: 40}, (_, i) => fixtureBody('native', '2026-03-01', i)),
    )
    writeLog(dir, 'audit-2026-03-01.jsonl', lines.slice(0, 20))
    const seals = Array.from({length: 6}, () => sealDirectory(dir, keys.privateKey))
    // The log grows while they run (after each of the first two seals finishes, while the others
    // wait their turn): a later seal must not name an older head after a newer one.
    const grown = [seals[0].then(() => appendFileSync(join(dir, 'audit-2026-03-01.jsonl'), `${lines.slice(20, 30).join('\n')}\n`))]
    grown.push(
      Promise.race(seals.slice(1))
        .then(() => grown[0])
        .then(() => appendFileSync(join(dir, 'audit-2026-03-01.jsonl'), `${lines.slice(30).join('\n')}\n`)),
    )
    const results = await Promise.all(seals)
    await Promise.all(grown)
    assert.deepEqual(results.map((r) => r.checkpoint?.index).sort(), [1, 2, 3, 4, 5, 6])
    const sealed = results
      .map((r) => r.checkpoint!)
      .sort((a, b) => a.index - b.index)
      .map((c) => c.entries)
    assert.deepEqual(
      [...sealed].sort((a, b) => a - b),
      sealed,
      `sealed counts go backwards: ${sealed}`,
    )
    assert.ok(new Set(sealed).size > 1, `the log did not grow between seals: ${sealed}`)
    const path = join(dir, 'audit.checkpoints')
    assert.deepEqual(checkSequence(parseCheckpoints(readFileSync(path, 'utf8'), path), keys.publicKey), [])
    const report = await verifyDirectory(dir, {pubkey: keys.publicKey})
    assert.equal(report.valid, true, JSON.stringify(report.problems))
    assert.equal(existsSync(`${path}.lock`), false, 'the lock is released')
  })

  it('the seal lock is a 0600 file beside the checkpoint file', async () => {
    const dir = tempDir('checkpoint-')
    writeLog(dir, 'audit-2026-03-01.jsonl', chain('native', [fixtureBody('native', '2026-03-01', 0)]).lines)
    const path = join(tempDir('checkpoint-elsewhere-'), 'log.checkpoints')
    let seen: number | undefined
    const result = await sealDirectory(dir, keys.privateKey, {
      checkpoints: path,
      onProgress: () => {
        seen ??= statSync(`${path}.lock`).mode & 0o777
      },
    })
    assert.ok(result.checkpoint)
    assert.equal(seen, 0o600)
    assert.equal(existsSync(`${path}.lock`), false)
  })
})

describe('checkpoint versions', () => {
  it('an old v1 checkpoint file still verifies, and the next seal continues it with v2, which pins the files sealed whole', async () => {
    const dir = tempDir('checkpoint-v1-')
    const days = ['2026-03-01', '2026-03-02']
    const {lines} = chain(
      'native',
      Array.from({length: 8}, (_, i) => fixtureBody('native', days[i < 4 ? 0 : 1], i)),
    )
    writeLog(dir, `audit-${days[0]}.jsonl`, lines.slice(0, 4))
    writeLog(dir, `audit-${days[1]}.jsonl`, lines.slice(4, 6))
    // As auditkit before v2 sealed it: the v1 body, no byte commitment.
    const report = await verifyDirectory(dir)
    const v1 = signCheckpoint(
      {
        entries: report.chainLength,
        hash: report.head!.hash,
        file: report.head!.file,
        line: report.head!.line,
        time: '2026-03-02T09:00:00.000Z',
        prev: NO_PREVIOUS,
      },
      keys.privateKey,
    )
    assert.match(v1, /^auditkit checkpoint v1\n6\n/)
    const path = join(dir, 'audit.checkpoints')
    writeFileSync(path, v1)
    const old = await verifyDirectory(dir, {pubkey: keys.publicKey})
    assert.equal(old.valid, true, JSON.stringify(old.problems))
    assert.equal(old.notSealed, 0)

    writeLog(dir, `audit-${days[1]}.jsonl`, lines.slice(4))
    const sealed = await sealDirectory(dir, keys.privateKey, {now: new Date('2026-03-02T10:00:00.000Z')})
    assert.equal(sealed.checkpoint?.entries, 8)
    const cps = parseCheckpoints(readFileSync(path, 'utf8'), path)
    assert.deepEqual(
      cps.map((c) => c.text.split('\n', 1)[0]),
      ['auditkit checkpoint v1', 'auditkit checkpoint v2'],
    )
    assert.equal(cps[1].prev, checkpointDigest(cps[0].text))
    assert.deepEqual(
      cps[1].closed?.map((c) => [c.file, c.lines, c.entries]),
      [[`audit-${days[0]}.jsonl`, 4, 4]],
    )
    const both = await verifyDirectory(dir, {pubkey: keys.publicKey})
    assert.equal(both.valid, true, JSON.stringify(both.problems))

    // A blank line appended to the file v2 sealed whole: the v1 checkpoint could not see it, v2 does.
    writeFileSync(join(dir, `audit-${days[0]}.jsonl`), `${lines.slice(0, 4).join('\n')}\n \n`)
    const tampered = await verifyDirectory(dir, {pubkey: keys.publicKey})
    assert.equal(tampered.valid, false)
    assert.ok(
      tampered.problems.some(
        (p) =>
          p.kind === 'checkpoint' &&
          p.file === `audit-${days[0]}.jsonl` &&
          /changed since checkpoint #2 .* sealed it whole \(\d+ bytes, 4 lines, 4 entries; now \d+ bytes, 5 lines, 4 entries\)/.test(
            p.message,
          ),
      ),
      JSON.stringify(tampered.problems),
    )
  })

  it('a v2 checkpoint with a changed commitment fails its signature; a malformed closed line is named', async () => {
    const {dir, path} = await sealedLog()
    const text = readFileSync(path, 'utf8')
    writeFileSync(
      path,
      text.replace(/\nbytes (\d+)\n/, (_, n) => `\nbytes ${Number(n) + 1}\n`),
    )
    const report = await verifyDirectory(dir, {pubkey: keys.publicKey})
    assert.ok(
      report.problems.some((p) => p.kind === 'checkpoint-file' && /bad signature/.test(p.message)),
      JSON.stringify(report.problems),
    )
    assert.throws(
      () => parseCheckpoints(text.replace(/\nother /, '\nclosed audit-x.jsonl 1 2\nother '), path),
      /bad closed line "closed audit-x\.jsonl 1 2"/,
    )
  })
})

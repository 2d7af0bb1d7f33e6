import assert from 'node:assert/strict'
import {appendFileSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {runAudit, spawnAudit, tempDir, writeLog} from '../helpers.js'
import {chain, fixtureBody, storedHash, unchain} from '../verify-fixtures.js'

function nativeLog(entries = 6): {dir: string; lines: string[]} {
  const dir = tempDir('verify-cli-')
  const {lines} = chain('native', Array.from({length: entries}, (_, i) => fixtureBody('native', '2026-03-01', i)))
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
    assert.match(r.stdout, /1\/1 log files valid, 0 invalid/)
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
    assert.deepEqual(doc.problems.map((p: {kind: string}) => p.kind), ['hash-mismatch', 'not-object', 'hash-mismatch'])
  })

  it('exit 2 for bad usage: unknown profile, missing directory, missing checkpoint file, bad key', async () => {
    const {dir} = nativeLog()
    for (const args of [['--profile', 'xml'], ['--dir', join(dir, 'nope')], ['--checkpoints', join(dir, 'nope')], ['--pubkey', join(dir, 'audit-2026-03-01.jsonl')]]) {
      const r = await runAudit(['verify', '--dir', dir, ...args])
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
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d })
    const done = new Promise<number | null>((resolve) => child.on('close', resolve))
    let running = true
    void done.then(() => { running = false })
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
})

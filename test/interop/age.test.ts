import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {readdirSync, readFileSync, unlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {gunzipSync, gzipSync} from 'node:zlib'

import {chainedLines, runAudit, tempDir} from '../helpers.js'

// Debian's age and age-keygen (/usr/bin), both ways: what auditkit encrypts, `age -d` decrypts to the
// exact plaintext; what `age -r` encrypts, auditkit reads and verifies. `npm run test:interop`.

const DAY = '2026-11-02'

/** A key pair made by age-keygen: the identity file (0600, as age-keygen writes it) and its public key. */
function keygen(): {identity: string; recipient: string} {
  const identity = join(tempDir('age-interop-key-'), 'key.txt')
  execFileSync('age-keygen', ['-o', identity], {stdio: 'ignore'})
  const recipient = execFileSync('age-keygen', ['-y', identity], {encoding: 'utf8'}).trim()
  return {identity, recipient}
}

/** Chained lines for entries 0..n-1 of the day, from `prev`. */
function lines(from: number, to: number, prev?: string): {text: string; head: string} {
  const made = chainedLines(
    Array.from({length: to - from}, (_, k) => ({
      timestamp: `${DAY}T10:00:${String(from + k).padStart(2, '0')}.000Z`,
      event: 'auth.login',
      actor: `user${from + k}`,
      details: {i: from + k},
    })),
    prev,
  )
  return {text: `${made.lines.join('\n')}\n`, head: made.head}
}

describe('age interop (Debian age CLI)', () => {
  const {identity, recipient} = keygen()

  it('a part auditkit encrypted decrypts with `age -d -i` to the exact plaintext (plain and gzip first)', async () => {
    for (const compress of [false, true]) {
      const home = tempDir('age-interop-')
      const dir = join(home, 'logs')
      const config = join(home, 'config.yaml')
      writeFileSync(config, `dir: ${dir}\ncompress: ${compress}\nencryption:\n  recipients: [${recipient}]\n`)
      // Part 001 closed by a writer that stopped before encrypting it, then the live file: the next writer encrypts the part.
      const part = lines(0, 5)
      const live = lines(5, 6, part.head)
      execFileSync('mkdir', ['-p', '-m', '700', dir])
      writeFileSync(join(dir, `audit-${DAY}.001.jsonl`), part.text, {mode: 0o400})
      writeFileSync(join(dir, `audit-${DAY}.jsonl`), live.text, {mode: 0o600})
      const logged = await runAudit(['log', 'auth.logout', '--config', config])
      assert.equal(logged.code, 0, logged.stderr)
      const name = `audit-${DAY}.001.jsonl${compress ? '.gz' : ''}.age`
      assert.ok(readdirSync(dir).includes(name), readdirSync(dir).join(' '))
      const decrypted = execFileSync('age', ['-d', '-i', identity, join(dir, name)])
      assert.equal((compress ? gunzipSync(decrypted) : decrypted).toString(), part.text)
    }
  })

  it('a file `age -r` encrypted is read by auditkit: search finds its entries, verify is VALID', async () => {
    const dir = tempDir('age-interop-r-')
    const first = lines(0, 4)
    const second = lines(4, 7, first.head)
    const live = lines(7, 8, second.head)
    const encrypt = (name: string, plaintext: Buffer) => {
      const plainPath = join(dir, `${name}.in`)
      writeFileSync(plainPath, plaintext)
      execFileSync('age', ['-r', recipient, '-o', join(dir, name), plainPath])
      unlinkSync(plainPath)
    }
    encrypt(`audit-${DAY}.001.jsonl.age`, Buffer.from(first.text))
    encrypt(`audit-${DAY}.002.jsonl.gz.age`, gzipSync(second.text))
    writeFileSync(join(dir, `audit-${DAY}.jsonl`), live.text, {mode: 0o600})
    const [search, verify, without] = await Promise.all([
      runAudit(['search', '--dir', dir, '--actor', 'user5', '--format', 'jsonl', '--identity', identity]),
      runAudit(['verify', '--dir', dir, '--identity', identity]),
      runAudit(['search', '--dir', dir, '--count']),
    ])
    assert.equal(search.code, 0, search.stderr)
    assert.equal(JSON.parse(search.stdout).details.i, 5)
    assert.equal(verify.code, 0, `${verify.stdout}${verify.stderr}`)
    assert.match(verify.stdout, /8 entries checked/)
    assert.match(verify.stdout, /Verdict: VALID/)
    assert.equal(without.code, 3)
    assert.equal(without.stdout, '1\n')
    assert.equal(without.stderr.trim().split('\n').length, 2)
    assert.ok(readFileSync(identity, 'utf8').includes('AGE-SECRET-KEY-1'))
    assert.doesNotMatch(`${search.stderr}${verify.stderr}${without.stderr}`, /AGE-SECRET-KEY/)
  })
})

import assert from 'node:assert/strict'
import {chmodSync, cpSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {generateIdentity, identityToRecipient} from 'age-encryption'

import {runAudit, tempDir} from '../helpers.js'

/** An age key pair: the identity in a 0600 file, and its public key. */
async function agePair(): Promise<{identity: string; recipient: string}> {
  const secret = await generateIdentity()
  const identity = join(tempDir('age-key-'), 'key.txt')
  writeFileSync(identity, `# test key\n${secret}\n`, {mode: 0o600})
  return {identity, recipient: await identityToRecipient(secret)}
}

/**
 * A log written by `audit log` with encryption on: a tiny max_file_size rotates every few entries,
 * so closed parts are encrypted as they close. Returns the directory and its config file.
 */
async function encryptedLog(recipient: string, options: {compress: boolean; entries: number}): Promise<{dir: string; config: string}> {
  const home = tempDir('age-log-')
  const dir = join(home, 'logs')
  const config = join(home, 'config.yaml')
  writeFileSync(config, `dir: ${dir}\nmax_file_size: 0.0006\ncompress: ${options.compress}\nencryption:\n  recipients: [${recipient}]\n`)
  await appendEntries(config, 0, options.entries)
  return {dir, config}
}

async function appendEntries(config: string, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    const r = await runAudit(['log', 'auth.login', '--config', config, '--actor', `user${i}`, '-D', `seq=${i}`])
    assert.equal(r.code, 0, r.stderr)
  }
}

const ENTRIES = 9

/** The `seq` detail of each JSONL entry printed. */
function seqsOf(text: string): number[] {
  return text
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => Number(JSON.parse(l).details.seq))
}

describe('encryption at rest (age)', async () => {
  const {identity, recipient} = await agePair()
  const plainParts = await encryptedLog(recipient, {compress: false, entries: ENTRIES})
  const gzipParts = await encryptedLog(recipient, {compress: true, entries: ENTRIES})

  it('closed parts are encrypted (.jsonl.age, or .jsonl.gz.age with compress), owner-only, their plaintext gone', () => {
    for (const [{dir}, suffix] of [
      [plainParts, '.jsonl.age'],
      [gzipParts, '.jsonl.gz.age'],
    ] as const) {
      const names = readdirSync(dir).filter((n) => n.startsWith('audit-'))
      const parts = names.filter((n) => /\.\d{3}\./.test(n))
      assert.ok(parts.length >= 2, `rotated into parts: ${names.join(' ')}`)
      for (const name of parts) {
        assert.ok(name.endsWith(suffix), `${name} ends with ${suffix}`)
        assert.equal(statSync(join(dir, name)).mode & 0o077, 0, `${name} is owner-only`)
        assert.ok(readFileSync(join(dir, name)).subarray(0, 22).equals(Buffer.from('age-encryption.org/v1\n')))
        assert.ok(!readFileSync(join(dir, name)).includes('user0'), 'no plaintext in the encrypted part')
      }
      assert.deepEqual(
        names.filter((n) => !parts.includes(n)),
        names.filter((n) => /^audit-\d{4}-\d{2}-\d{2}\.jsonl$/.test(n)),
        'besides the parts only the live file, no plaintext part or temporary file',
      )
    }
  })

  it('search reads encrypted parts with --identity or AUDIT_IDENTITY; without, names each file it could not read and exits 3', async () => {
    for (const {config, dir} of [plainParts, gzipParts]) {
      const [withFlag, withEnv, without] = await Promise.all([
        runAudit(['search', '--config', config, '--count', '--identity', identity]),
        runAudit(['search', '--config', config, '--count'], {env: {AUDIT_IDENTITY: identity}}),
        runAudit(['search', '--config', config, '--count']),
      ])
      assert.equal(withFlag.code, 0, withFlag.stderr)
      assert.equal(withFlag.stdout, `${ENTRIES}\n`)
      assert.equal(withEnv.stdout, `${ENTRIES}\n`)
      assert.equal(without.code, 3)
      const encrypted = readdirSync(dir).filter((n) => n.endsWith('.age'))
      const lines = without.stderr.trim().split('\n')
      assert.deepEqual(
        lines,
        encrypted.sort().map((n) => `audit: cannot read ${join(dir, n)}: encrypted (age) and no --identity given`),
      )
      assert.doesNotMatch(without.stderr, /tamper|INVALID|at .*\.js:\d+/)
      // The live file is still read.
      assert.ok(Number(without.stdout) > 0 && Number(without.stdout) < ENTRIES, without.stdout)
    }
  })

  it('summary, tail and export read the encrypted parts too', async () => {
    const {config} = gzipParts
    const [summary, tail, exported, summaryWithout, tailWithout, exportWithout] = await Promise.all([
      runAudit(['summary', '--config', config, '--all', '--json', '--no-cache', '--identity', identity]),
      runAudit(['tail', '--config', config, '-n', '100', '--format', 'jsonl', '--identity', identity]),
      runAudit(['export', '--config', config, '--identity', identity]),
      runAudit(['summary', '--config', config, '--all', '--json', '--no-cache']),
      runAudit(['tail', '--config', config, '-n', '100', '--format', 'jsonl']),
      runAudit(['export', '--config', config]),
    ])
    for (const without of [tailWithout, exportWithout]) {
      assert.equal(without.code, 3, without.stderr)
      assert.match(without.stderr, /^audit: cannot read .*\.jsonl\.gz\.age: encrypted \(age\) and no --identity given$/m)
      assert.ok(seqsOf(without.stdout).length > 0, 'the live file is still read')
      assert.ok(seqsOf(without.stdout).length < ENTRIES)
    }
    assert.equal(summary.code, 0, summary.stderr)
    assert.equal(JSON.parse(summary.stdout).total, ENTRIES)
    assert.equal(tail.code, 0, tail.stderr)
    const seqs = seqsOf
    assert.deepEqual(seqs(tail.stdout), [...Array(ENTRIES).keys()])
    assert.equal(exported.code, 0, exported.stderr)
    assert.deepEqual(seqs(exported.stdout), [...Array(ENTRIES).keys()])
    assert.equal(summaryWithout.code, 3)
    assert.match(summaryWithout.stderr, /^audit: cannot read .*\.jsonl\.gz\.age: encrypted \(age\) and no --identity given$/m)
    assert.ok(JSON.parse(summaryWithout.stdout).total < ENTRIES)
  })

  it('verify checks the chain over the plaintext; without the identity it says it could not read (exit 3), never tampering', async () => {
    for (const {config} of [plainParts, gzipParts]) {
      const [ok, without] = await Promise.all([
        runAudit(['verify', '--config', config, '--identity', identity]),
        runAudit(['verify', '--config', config]),
      ])
      assert.equal(ok.code, 0, ok.stderr)
      assert.match(ok.stdout, new RegExp(`${ENTRIES} entries checked`))
      assert.match(ok.stdout, /Verdict: VALID/)
      assert.equal(without.code, 3)
      assert.match(without.stderr, /\.age: encrypted \(age\) and no --identity given; it could not be checked/)
      assert.doesNotMatch(`${without.stdout}${without.stderr}`, /INVALID|tamper/i)
    }
  })

  it('checkpoints sealed before a part was encrypted still hold after (verify --pubkey VALID)', async () => {
    const home = tempDir('age-seal-')
    const keys = join(home, 'keys')
    assert.equal((await runAudit(['keygen', '--out', keys])).code, 0)
    const config = join(home, 'config.yaml')
    const cps = join(home, 'log.checkpoints')
    writeFileSync(config, `dir: ${join(home, 'logs')}\nmax_file_size: 0.0006\ncompress: true\nencryption:\n  recipients: [${recipient}]\n`)
    await appendEntries(config, 0, 2)
    const sealed = await runAudit(['seal', '--config', config, '--key', join(keys, 'audit-seal.key'), '--checkpoints', cps])
    assert.equal(sealed.code, 0, sealed.stderr)
    assert.equal(
      readdirSync(join(home, 'logs')).filter((n) => n.endsWith('.age')).length,
      0,
      'sealed while the entries were still in the live file',
    )
    await appendEntries(config, 2, 7)
    assert.ok(
      readdirSync(join(home, 'logs')).some((n) => n.endsWith('.jsonl.gz.age')),
      'the sealed entries were rotated and encrypted',
    )
    const verified = await runAudit([
      'verify',
      '--config',
      config,
      '--identity',
      identity,
      '--pubkey',
      join(keys, 'audit-seal.pub'),
      '--checkpoints',
      cps,
    ])
    assert.equal(verified.code, 0, `${verified.stdout}${verified.stderr}`)
    assert.match(verified.stdout, /Verdict: VALID/)
    assert.match(verified.stdout, /Checkpoints: 1 in .*signatures checked/)
  })

  it('a changed or truncated .age part is an integrity problem naming the file, not a crash', async () => {
    for (const cut of [false, true]) {
      const dir = tempDir('age-tampered-')
      cpSync(plainParts.dir, dir, {recursive: true})
      const victim = readdirSync(dir)
        .filter((n) => n.endsWith('.age'))
        .sort()[0]
      const path = join(dir, victim)
      chmodSync(path, 0o600)
      const bytes = readFileSync(path)
      if (cut) writeFileSync(path, bytes.subarray(0, bytes.length - 7))
      else {
        bytes[bytes.length - 20] ^= 0x01
        writeFileSync(path, bytes)
      }
      const [verify, search] = await Promise.all([
        runAudit(['verify', '--dir', dir, '--identity', identity]),
        runAudit(['search', '--dir', dir, '--count', '--identity', identity]),
      ])
      assert.equal(verify.code, 1, verify.stderr)
      assert.match(`${verify.stdout}${verify.stderr}`, new RegExp(`${victim.replace(/\./g, '\\.')}.*age payload fails its authentication`))
      assert.doesNotMatch(verify.stderr, /internal error|at .*\.js:\d+/)
      assert.match(search.stderr, new RegExp(`warning: 1 truncated or changed age file, at ${victim.replace(/\./g, '\\.')}`))
    }
  })

  it('another identity, or an identity file others can read, is refused clearly; no key material is printed', async () => {
    const other = await agePair()
    const wrong = await runAudit(['search', '--config', plainParts.config, '--count', '--identity', other.identity])
    assert.equal(wrong.code, 3)
    assert.match(wrong.stderr, /audit: cannot read .*\.jsonl\.age: encrypted \(age\) to recipients the --identity does not hold/)
    const loose = join(tempDir('age-loose-'), 'key.txt')
    cpSync(identity, loose)
    chmodSync(loose, 0o644)
    const refused = await runAudit(['search', '--config', plainParts.config, '--count', '--identity', loose])
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, /^audit search: error: identity file .*key\.txt: readable by others \(mode 0644\); chmod 600 it$/m)
    assert.doesNotMatch(`${wrong.stderr}${refused.stderr}`, /AGE-SECRET-KEY/)
  })

  it('a writer refuses a recipient that is not an age public key (config error, exit 2)', async () => {
    const home = tempDir('age-bad-')
    const config = join(home, 'config.yaml')
    writeFileSync(config, `dir: ${join(home, 'logs')}\nencryption:\n  recipients: [age1notakey]\n`)
    const r = await runAudit(['log', 'auth.login', '--config', config])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /encryption\.recipients.*not an age X25519 public key/)
  })
})

import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'

import {CODEC_NAMES} from '../../src/formats/registry.js'
import {runAudit, spawnAudit, tempDir} from '../helpers.js'

/** A log directory with privacy fields sealed under a keystore beside it (not inside). */
function setup() {
  const root = tempDir('forget-')
  const keys = join(root, 'keys')
  mkdirSync(keys, {mode: 0o700})
  const dir = join(root, 'logs')
  const config = join(root, 'config.yaml')
  writeFileSync(config, `dir: ${dir}\nprivacy:\n  fields: [actor, details.ip, details.email]\n  keystore: ${keys}\n`)
  const cache = join(root, 'cache')
  const env = {AUDIT_CONFIG: config, XDG_CACHE_HOME: cache}
  const log = (actor: string, event: string, details: Record<string, unknown>) =>
    runAudit(['log', event, '--actor', actor, '-'], {env, input: JSON.stringify(details)})
  return {root, keys, dir, config, cache, env, log}
}

/** grep -r: the paths under `path` holding `text` (grep's own exit 1 means none). */
function grepFiles(path: string, text: string): string[] {
  try {
    return execFileSync('grep', ['-rlF', '--', text, path], {encoding: 'utf8'}).trim().split('\n')
  } catch (error) {
    if ((error as {status?: number}).status === 1) return []
    throw error
  }
}

function logText(dir: string): string {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.jsonl'))
    .map((n) => readFileSync(join(dir, n), 'utf8'))
    .join('')
}

const ALICE = ['alice-liddell', '203.0.113.77', 'alice.liddell@example.org']

describe('audit forget (crypto-shredding)', () => {
  it('a subject written, sealed, forgotten: nothing of it left in the log, the cache or a fresh export; the chain and checkpoints hold', async () => {
    const {root, dir, cache, env, log} = setup()
    for (let i = 0; i < 3; i++) {
      const r = await log('alice-liddell', 'auth.login', {ip: '203.0.113.77', email: 'alice.liddell@example.org', attempt: i})
      assert.equal(r.code, 0, r.stderr)
    }
    assert.equal((await log('bob', 'auth.fail', {ip: '198.51.100.9'})).code, 0)
    // Sealed before chaining: no plaintext privacy value in the file, from the first write.
    for (const text of ALICE) assert.deepEqual(grepFiles(dir, text), [], text)

    // Before: revealed to readers with the keystore, matched by --actor and --where through the blind index.
    const before = await runAudit(['search', '--actor', 'alice-liddell', '-o', 'jsonl'], {env})
    assert.equal(before.code, 0, before.stderr)
    const found = before.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    assert.equal(found.length, 3)
    assert.deepEqual(found[0].details, {ip: '203.0.113.77', email: 'alice.liddell@example.org', attempt: 0})
    const byIp = await runAudit(['search', '--where', 'details.ip=198.51.100.9', '--count'], {env})
    assert.equal(byIp.stdout, '1\n')
    const summary = await runAudit(['summary', '--all'], {env})
    assert.equal(summary.code, 0, summary.stderr)
    assert.match(summary.stdout, /Unique actors: +2\n/)
    assert.match(summary.stdout, /Unique IPs: +2\n/)
    assert.match(summary.stdout, /alice-liddell +3/, 'grouped by blind index, revealed at render')
    // The summary cache was written, and it holds no plaintext privacy value.
    assert.ok(readdirSync(join(cache, 'auditkit')).length > 0)
    for (const text of ALICE) assert.deepEqual(grepFiles(cache, text), [], text)

    // Sealed with a checkpoint, then forgotten.
    const keyDir = join(root, 'seal-keys')
    assert.equal((await runAudit(['keygen', '--out', keyDir])).code, 0)
    const checkpoints = join(root, 'log.checkpoints')
    const seal = await runAudit(['seal', '--key', join(keyDir, 'audit-seal.key'), '--checkpoints', checkpoints], {env})
    assert.equal(seal.code, 0, seal.stderr)
    const bytesBefore = logText(dir)

    const forgot = await runAudit(['forget', 'alice-liddell', '--json'], {env})
    assert.equal(forgot.code, 0, forgot.stderr)
    const answer = JSON.parse(forgot.stdout)
    assert.equal(answer.erased, true)
    assert.match(answer.subject, /^blind:[A-Za-z0-9_-]{22}$/)
    assert.equal(answer.event.event, 'audit.erasure')
    assert.equal(answer.event.details.subject, answer.subject)
    // Idempotent: a second forget finds no key and appends nothing.
    const again = await runAudit(['forget', 'alice-liddell', '--json'], {env})
    assert.equal(again.code, 0, again.stderr)
    assert.deepEqual(JSON.parse(again.stdout), {subject: answer.subject, erased: false})
    const after = logText(dir)
    assert.ok(after.startsWith(bytesBefore), 'forget only appends: no stored byte changed')
    assert.equal(after.split('\n').filter((l) => l.includes('"audit.erasure"')).length, 1)

    // The chain and the checkpoint still hold, and one made now too.
    const pub = join(keyDir, 'audit-seal.pub')
    const verify = await runAudit(['verify', '--pubkey', pub, '--checkpoints', checkpoints], {env})
    assert.equal(verify.code, 0, verify.stdout + verify.stderr)
    assert.match(verify.stdout, /Verdict: VALID/)
    assert.equal((await runAudit(['seal', '--key', join(keyDir, 'audit-seal.key'), '--checkpoints', checkpoints], {env})).code, 0)

    // Readers show [erased]; the subject is still found by its blind index.
    const erased = await runAudit(['search', '--actor', 'alice-liddell'], {env})
    assert.equal(erased.code, 0, erased.stderr)
    const lines = erased.stdout.trim().split('\n')
    assert.equal(lines.length, 3)
    for (const line of lines) assert.match(line, /auth\.login \[erased\] ip=\[erased\] email=\[erased\] attempt=\d/)
    const bob = await runAudit(['search', '--actor', 'bob'], {env})
    assert.match(bob.stdout, /auth\.fail bob ip=198\.51\.100\.9/)

    // A fresh export in every format, revealed or not, a bundle and the summary cache: nothing of alice.
    const exports = join(root, 'exports')
    mkdirSync(exports)
    for (const format of CODEC_NAMES.filter((f) => f !== 'pretty')) {
      for (const reveal of [[], ['--reveal']]) {
        const r = await runAudit(['export', '--format', format, ...reveal, '--output', join(exports, `${format}${reveal.length}.out`)], {
          env,
        })
        assert.equal(r.code, 0, `${format}: ${r.stderr}`)
      }
    }
    const bundle = await runAudit(
      ['export', '--reveal', '--archive', 'tar.gz', '--output', join(exports, 'bundle.tar.gz'), '--format', 'jsonl'],
      {env},
    )
    assert.equal(bundle.code, 0, bundle.stderr)
    // Its contents are compressed: unpacked, so grep sees them.
    mkdirSync(join(exports, 'bundle'))
    execFileSync('tar', ['-xzf', join(exports, 'bundle.tar.gz'), '-C', join(exports, 'bundle')])
    assert.ok(grepFiles(join(exports, 'bundle'), 'bob').length > 0, 'the bundle holds the revealed export')
    assert.match(readFileSync(join(exports, 'jsonl1.out'), 'utf8'), /"actor":"\[erased\]"/)
    assert.match(readFileSync(join(exports, 'jsonl1.out'), 'utf8'), /"actor":"bob"/)
    assert.equal((await runAudit(['summary', '--all'], {env})).code, 0)
    for (const text of ALICE) {
      for (const path of [dir, cache, exports]) assert.deepEqual(grepFiles(path, text), [], `${text} in ${path}`)
    }
  })

  it('a keystore that is missing, open to others or holding a bad key: exit 3, one line, nothing written', async () => {
    const {root, keys, dir, env, log} = setup()
    assert.equal((await log('alice', 'user.login', {ip: '10.0.0.5'})).code, 0)
    const before = logText(dir)
    const check = async (pattern: RegExp) => {
      const r = await log('alice', 'user.login', {ip: '10.0.0.5'})
      assert.equal(r.code, 3, r.stderr)
      assert.match(r.stderr, pattern)
      assert.equal(r.stderr.split('\n').length, 2, 'one line, no stack')
      assert.equal(logText(dir), before, 'nothing written')
    }
    renameSync(keys, join(root, 'moved'))
    await check(/^audit log: error: privacy keystore .*keys: missing/)
    renameSync(join(root, 'moved'), keys)
    chmodSync(keys, 0o755)
    await check(/lets others in; chmod 700 it/)
    chmodSync(keys, 0o700)
    const index = readFileSync(join(keys, 'index.key'))
    writeFileSync(join(keys, 'index.key'), 'not a key')
    await check(/index\.key: not a key/)
    writeFileSync(join(keys, 'index.key'), index)
    if (process.getuid?.() !== 0) {
      // Permissions do not stop root: this part runs as any other user.
      chmodSync(keys, 0o500)
      const other = await log('carol', 'user.login', {})
      assert.equal(other.code, 3, other.stderr)
      chmodSync(keys, 0o700)
    }
    // Forget needs the keystore as well.
    renameSync(keys, join(root, 'moved'))
    const forget = await runAudit(['forget', 'alice'], {env})
    assert.equal(forget.code, 3, forget.stderr)
    assert.equal(logText(dir), before)
    // Readers still read: sealed values show as blind indexes, and --reveal is refused.
    const search = await runAudit(['search'], {env})
    assert.equal(search.code, 0, search.stderr)
    assert.match(search.stdout, /user\.login blind:[A-Za-z0-9_-]{22} ip=blind:[A-Za-z0-9_-]{22}/)
    assert.match(search.stderr, /privacy fields show as blind indexes/)
    const reveal = await runAudit(['export', '--reveal', '--format', 'jsonl'], {env})
    assert.equal(reveal.code, 3)
    assert.match(reveal.stderr, /--reveal: privacy keystore .* missing/)
    assert.equal(reveal.stdout, '')
  })

  it('refuses a keystore inside the log directory, and forget without privacy configured', async () => {
    const root = tempDir('forget-')
    const dir = join(root, 'logs')
    mkdirSync(join(dir, 'keys'), {recursive: true, mode: 0o700})
    const config = join(root, 'config.yaml')
    writeFileSync(config, `dir: ${dir}\nprivacy:\n  fields: [actor]\n  keystore: ${join(dir, 'keys')}\n`)
    const r = await runAudit(['log', 'user.login', '--actor', 'alice'], {env: {AUDIT_CONFIG: config}})
    assert.equal(r.code, 2)
    assert.match(r.stderr, /inside the log directory/)
    assert.deepEqual(
      readdirSync(dir).filter((n) => n.endsWith('.jsonl')),
      [],
    )
    const plain = await runAudit(['forget', 'alice', '--dir', join(root, 'other')])
    assert.equal(plain.code, 2)
    assert.match(plain.stderr, /privacy\.fields is empty/)
    const bad = join(root, 'bad.yaml')
    writeFileSync(bad, 'privacy:\n  fields: [timestamp]\n')
    const refused = await runAudit(['log', 'user.login'], {env: {AUDIT_CONFIG: bad}})
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, /privacy\.fields/)
  })

  it('hostile values are still sanitised after reveal; a 700 kB value round-trips', async () => {
    const {env, log} = setup()
    const hostile = '\u001b]0;owned\u0007\u001b[2J\u009b31mred\r\nforged line'
    assert.equal((await log(hostile, 'user.login', {email: hostile})).code, 0)
    const big = 'x'.repeat(700_000)
    const wrote = await log('big', 'user.login', {email: big})
    assert.equal(wrote.code, 0, wrote.stderr)
    const pretty = await runAudit(['search'], {env})
    assert.equal(pretty.code, 0, pretty.stderr)
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(pretty.stdout, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/)
    assert.match(pretty.stdout, /owned/)
    const json = await runAudit(['search', '--actor', 'big', '-o', 'jsonl'], {env})
    assert.equal(JSON.parse(json.stdout).details.email, big)
    // A value too big once sealed is refused, not written in plaintext.
    const tooBig = await log('big', 'user.login', {email: 'y'.repeat(900_000)})
    assert.equal(tooBig.code, 2)
    assert.match(tooBig.stderr, /readers accept at most/)
  })
})

describe('audit tail -f with privacy fields', () => {
  it('reveals what it follows with the keystore, shows blind indexes without it, and [erased] once forgotten', async () => {
    const {root, env, log} = setup()
    assert.equal((await log('alice-liddell', 'auth.login', {ip: '203.0.113.77'})).code, 0)
    /** Follows from the first entry; resolves with the lines once `count` entries were printed. */
    const follow = async (followEnv: Record<string, string>, count: number, then: () => Promise<unknown>) => {
      const child = spawnAudit(['tail', '-f', '-n', '100', '-o', 'jsonl'], {env: followEnv})
      child.stdin.end()
      let out = ''
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d
      })
      const lines = () => out.split('\n').filter((l) => l.startsWith('{'))
      const until = async (n: number) => {
        const deadline = Date.now() + 20_000
        while (lines().length < n && Date.now() < deadline && child.exitCode === null) await sleep(20)
        assert.ok(lines().length >= n, `only ${lines().length} of ${n} lines followed`)
      }
      try {
        await until(1)
        await then()
        await until(count)
        return lines().map((l) => JSON.parse(l) as {actor: string; details: {ip?: string}})
      } finally {
        child.kill('SIGTERM')
      }
    }
    const revealed = await follow(env, 2, () => log('alice-liddell', 'auth.fail', {ip: '203.0.113.77'}))
    assert.deepEqual(
      revealed.map((e) => [e.actor, e.details.ip]),
      [
        ['alice-liddell', '203.0.113.77'],
        ['alice-liddell', '203.0.113.77'],
      ],
    )
    // Without the keystore (a config naming the same fields but no keystore): blind indexes, never plaintext.
    const blindConfig = join(root, 'blind.yaml')
    writeFileSync(blindConfig, readFileSync(env.AUDIT_CONFIG, 'utf8').replace(/\n {2}keystore: .*\n/, '\n'))
    const blind = await follow({...env, AUDIT_CONFIG: blindConfig}, 3, () => log('alice-liddell', 'auth.fail', {ip: '203.0.113.77'}))
    for (const e of blind) {
      assert.match(e.actor, /^blind:/)
      assert.doesNotMatch(JSON.stringify(e), /alice|203\.0\.113/)
    }
    assert.equal((await runAudit(['forget', 'alice-liddell'], {env})).code, 0)
    const erased = await follow(env, 5, () => log('bob', 'auth.login', {ip: '198.51.100.9'}))
    assert.deepEqual(
      erased.map((e) => e.actor),
      ['[erased]', '[erased]', '[erased]', 'auditkit', 'bob'],
    )
  })
})

describe('audit report with privacy fields', () => {
  it('groups a sealed actor by subject, names it with the keystore, blind without it; --actor matches it', async () => {
    const {root, env, log} = setup()
    for (const event of ['user.delete', 'admin.grant', 'user.delete']) assert.equal((await log('alice-liddell', event, {})).code, 0)
    assert.equal((await log('bob', 'user.create', {})).code, 0)
    const named = await runAudit(['report', 'soc2'], {env})
    assert.match(named.stdout, /^- Privileged actions by alice-liddell: 3 /m)
    assert.match(named.stdout, /^- Privileged actions by bob: 1 /m)
    assert.doesNotMatch(named.stdout, /priv:v1/)
    const blindConfig = join(root, 'blind.yaml')
    writeFileSync(blindConfig, readFileSync(env.AUDIT_CONFIG, 'utf8').replace(/\n {2}keystore: .*\n/, '\n'))
    const blind = await runAudit(['report', 'soc2'], {env: {...env, AUDIT_CONFIG: blindConfig}})
    // The index is base64url; markdown escapes its `_` as `\_`.
    assert.match(blind.stdout, /^- Privileged actions by blind:(?:[\w-]|\\_)+: 3 /m)
    assert.doesNotMatch(blind.stdout, /alice|priv:v1/)
    const only = await runAudit(['report', 'soc2', '--actor', 'alice-liddell', '-o', 'json'], {env})
    assert.equal(JSON.parse(only.stdout).usage.entries, 3)
  })
})

describe('audit proxy with privacy fields', () => {
  it('does not start without its keystore (exit 3), so it never logs requests in plaintext', async () => {
    const {root, env} = setup()
    renameSync(join(root, 'keys'), join(root, 'moved'))
    const r = await runAudit(['proxy', '--listen', '127.0.0.1:0', '--upstream', 'http://127.0.0.1:9'], {env})
    assert.equal(r.code, 3, r.stderr)
    assert.match(r.stderr, /^audit proxy: error: privacy keystore .*: missing/)
  })
})

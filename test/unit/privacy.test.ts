import assert from 'node:assert/strict'
import {chmodSync, mkdirSync, readdirSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {compileFilter} from '../../src/events/filter.js'
import type {AuditEntry, LocatedEntry} from '../../src/events/model.js'
import {Keystore, KeystoreError} from '../../src/privacy/keystore.js'
import {Revealer, Sealer} from '../../src/privacy/privacy.js'
import {blindIndex} from '../../src/privacy/seal.js'
import {ERASED, parseSealed, UNDECRYPTABLE} from '../../src/privacy/sealed-form.js'
import {tempDir} from '../helpers.js'

const FIELDS = ['actor', 'details.ip', 'details.email']

function setup() {
  const root = tempDir('privacy-')
  const keystore = join(root, 'keys')
  mkdirSync(keystore, {mode: 0o700})
  const settings = {fields: FIELDS, keystore}
  return {root, logDir: join(root, 'logs'), keystore, settings}
}

function located(entry: Omit<AuditEntry, 'timestamp' | 'level' | 'metadata'>): LocatedEntry {
  const full: AuditEntry = {timestamp: '2026-12-01T00:00:00.000Z', level: 'info', metadata: {}, ...entry}
  return {entry: full, time: Date.parse(full.timestamp), file: 'x', line: 1, raw: JSON.stringify(full), profile: 'native'}
}

describe('privacy: sealing and revealing', () => {
  it('seals each privacy field under the actor key, and reveals it back', () => {
    const {logDir, settings, keystore} = setup()
    const sealer = Sealer.open(settings, logDir)
    const sealed = sealer.seal({event: 'user.login', actor: 'alice', details: {ip: '10.0.0.5', email: 'a@x.org', path: '/'}})
    for (const value of [sealed.actor, sealed.details.ip, sealed.details.email]) {
      assert.match(String(value), /^priv:v1:[A-Za-z0-9_-]{22}:[A-Za-z0-9_-]{22}:[A-Za-z0-9_-]+$/)
      assert.doesNotMatch(String(value), /alice|10\.0\.0\.5|a@x\.org/)
    }
    assert.equal(sealed.details.path, '/')
    // The key files: the index key and alice's, 0600 in the 0700 keystore.
    assert.deepEqual(readdirSync(keystore).sort(), [`${sealer.subjectOf('alice')}.key`, 'index.key'].sort())
    for (const name of readdirSync(keystore)) assert.equal(statSync(join(keystore, name)).mode & 0o777, 0o600)
    const revealer = Revealer.open(settings, logDir)!
    const shown = revealer.reveal(located(sealed)).entry
    assert.equal(shown.actor, 'alice')
    assert.deepEqual(shown.details, {ip: '10.0.0.5', email: 'a@x.org', path: '/'})
    // Non-string values survive as JSON.
    const numeric = sealer.seal({event: 'a.b', actor: 'bob', details: {ip: 42}})
    assert.equal(revealer.reveal(located(numeric)).entry.details.ip, 42)
  })

  it('random nonces: equal values seal differently but share a blind index', () => {
    const {logDir, settings} = setup()
    const sealer = Sealer.open(settings, logDir)
    const a = sealer.seal({event: 'a.b', actor: 'alice', details: {}})
    const b = sealer.seal({event: 'a.b', actor: 'alice', details: {}})
    assert.notEqual(a.actor, b.actor)
    assert.equal(parseSealed(a.actor)!.blind, parseSealed(b.actor)!.blind)
  })

  it('a sealed value moved to another field, entry of another subject or event does not open', () => {
    const {logDir, settings} = setup()
    const sealer = Sealer.open(settings, logDir)
    const alice = sealer.seal({event: 'user.login', actor: 'alice', details: {ip: '10.0.0.5', email: 'a@x.org'}})
    const bob = sealer.seal({event: 'user.login', actor: 'bob', details: {ip: '10.0.0.6'}})
    const revealer = Revealer.open(settings, logDir)!
    // alice's ip in the email field
    const swapped = revealer.reveal(located({...alice, details: {ip: alice.details.email, email: alice.details.ip}})).entry
    assert.equal(swapped.details.ip, UNDECRYPTABLE)
    assert.equal(swapped.details.email, UNDECRYPTABLE)
    // alice's ip in bob's entry
    assert.equal(revealer.reveal(located({...bob, details: {ip: alice.details.ip}})).entry.details.ip, UNDECRYPTABLE)
    // the same entry under another event name
    assert.equal(revealer.reveal(located({...alice, event: 'user.logout'})).entry.actor, UNDECRYPTABLE)
    // one changed character
    const ip = String(alice.details.ip)
    const flipped = ip.slice(0, -2) + (ip.at(-2) === 'A' ? 'B' : 'A') + ip.at(-1)
    assert.equal(revealer.reveal(located({...alice, details: {...alice.details, ip: flipped}})).entry.details.ip, UNDECRYPTABLE)
  })

  it('a destroyed key shows [erased]; without the keystore readers show the blind index', () => {
    const {logDir, settings, root} = setup()
    const sealer = Sealer.open(settings, logDir)
    const alice = sealer.seal({event: 'a.b', actor: 'alice', details: {ip: '10.0.0.5'}})
    const blind = parseSealed(alice.actor)!.blind
    assert.equal(sealer.keystore.destroySubjectKey(sealer.subjectOf('alice')), true)
    assert.equal(sealer.keystore.destroySubjectKey(sealer.subjectOf('alice')), false)
    const erased = Revealer.open(settings, logDir)!.reveal(located(alice)).entry
    assert.equal(erased.actor, ERASED)
    assert.equal(erased.details.ip, ERASED)
    const blindOnly = Revealer.open({...settings, keystore: join(root, 'elsewhere')}, logDir)!
    assert.match(blindOnly.problem ?? '', /missing/)
    assert.equal(blindOnly.reveal(located(alice)).entry.actor, `blind:${blind}`)
    assert.equal(Revealer.open(settings, logDir, {reveal: false})!.reveal(located(alice)).entry.actor, `blind:${blind}`)
  })

  it('refuses a keystore that is missing, inside the log directory, open to others or holding a bad key', () => {
    const {root, logDir, keystore} = setup()
    assert.throws(() => Keystore.open(join(root, 'nope'), logDir, {write: true}), KeystoreError)
    mkdirSync(logDir, {mode: 0o700})
    mkdirSync(join(logDir, 'keys'), {mode: 0o700})
    assert.throws(() => Keystore.open(join(logDir, 'keys'), logDir, {write: true}), /inside the log directory/)
    chmodSync(keystore, 0o755)
    assert.throws(() => Keystore.open(keystore, logDir, {write: true}), /lets others in/)
    chmodSync(keystore, 0o700)
    writeFileSync(join(keystore, 'index.key'), 'short', {mode: 0o600})
    assert.throws(() => Keystore.open(keystore, logDir, {write: true}), /not a key/)
    const file = join(root, 'a-file')
    writeFileSync(file, '')
    assert.throws(() => Keystore.open(file, logDir, {write: true}), KeystoreError)
  })

  it('a reader does not create the index key', () => {
    const {logDir, keystore, settings} = setup()
    assert.throws(() => Keystore.open(keystore, logDir, {write: false}), /index.key is missing/)
    assert.deepEqual(readdirSync(keystore), [])
    assert.match(Revealer.open(settings, logDir)!.problem ?? '', /index.key is missing/)
  })

  it('filters match sealed actors and fields by blind index, plain ones as before', () => {
    const {logDir, settings} = setup()
    const sealer = Sealer.open(settings, logDir)
    const key = sealer.keystore.indexKey()
    const alice = located(sealer.seal({event: 'a.b', actor: 'alice', details: {ip: '10.0.0.5'}}))
    const bob = located(sealer.seal({event: 'a.b', actor: 'bob', details: {ip: '10.0.0.6'}}))
    const plain = located({event: 'a.b', actor: 'alice', details: {ip: '10.0.0.5'}})
    const blinds = {alice: blindIndex(key, 'alice'), '10.0.0.5': blindIndex(key, '10.0.0.5')}
    const byActor = compileFilter({actors: ['alice'], privacy: {fields: FIELDS, blinds}})
    assert.deepEqual(
      [alice, bob, plain].map((l) => byActor.matches(l)),
      [true, false, true],
    )
    assert.equal(byActor.mayMatchRaw?.(alice.raw), true)
    const byIp = compileFilter({where: ['details.ip=10.0.0.5'], privacy: {fields: FIELDS, blinds}})
    assert.deepEqual(
      [alice, bob, plain].map((l) => byIp.matches(l)),
      [true, false, true],
    )
    const notIp = compileFilter({where: ['details.ip!=10.0.0.5'], privacy: {fields: FIELDS, blinds}})
    assert.deepEqual(
      [alice, bob, plain].map((l) => notIp.matches(l)),
      [false, true, false],
    )
    // Without blinds (no keystore), a plaintext never matches a sealed value.
    assert.equal(compileFilter({actors: ['alice']}).matches(alice), false)
  })

  it('blind index normalises: NFC strings, IP addresses case-insensitive', () => {
    const key = Buffer.alloc(32, 1)
    assert.equal(blindIndex(key, 'Jos\u00e9'), blindIndex(key, 'Jose\u0301'))
    assert.equal(blindIndex(key, 'FE80::1'), blindIndex(key, 'fe80::1'))
    assert.notEqual(blindIndex(key, 'Alice'), blindIndex(key, 'alice'))
    assert.notEqual(blindIndex(key, 'alice'), blindIndex(Buffer.alloc(32, 2), 'alice'))
  })
})

describe('privacy: the library writer', () => {
  it('seals through AuditWriter; a missing keystore rejects the open (exit code 3) and writes nothing', async () => {
    const {AuditWriter, KeystoreError: LibraryKeystoreError, readEntries} = await import('../../src/index.js')
    const {root, logDir, settings} = setup()
    const writer = await AuditWriter.open(logDir, {privacy: settings, fsync: 'never'})
    const written = await writer.write({event: 'user.login', actor: 'alice', details: {ip: '10.0.0.5'}})
    await writer.close()
    assert.match(written!.line, /"actor":"priv:v1:/)
    assert.doesNotMatch(written!.line, /alice|10\.0\.0\.5/)
    const entries = []
    for await (const e of readEntries(logDir)) entries.push(e)
    assert.equal(Revealer.open(settings, logDir)!.reveal(entries[0]).entry.actor, 'alice')

    const elsewhere = join(root, 'other-logs')
    await assert.rejects(AuditWriter.open(elsewhere, {privacy: {...settings, keystore: join(root, 'gone')}}), (error: Error) => {
      assert.ok(error instanceof LibraryKeystoreError)
      assert.equal((error as KeystoreError).exitCode, 3)
      return true
    })
    assert.throws(() => statSync(elsewhere), /ENOENT/, 'the log directory was not even created')
  })
})

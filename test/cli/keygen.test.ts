import assert from 'node:assert/strict'
import {statSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {runAudit, tempDir} from '../helpers.js'

describe('audit keygen', () => {
  it('writes an Ed25519 pair, the private key 0600 in a 0700 directory, and refuses to overwrite', async () => {
    const out = join(tempDir('keygen-'), 'keys')
    const first = await runAudit(['keygen', '--out', out])
    assert.equal(first.code, 0, first.stderr)
    assert.match(first.stdout, /key id: +[0-9a-f]{8}/)
    assert.equal(statSync(join(out, 'audit-seal.key')).mode & 0o777, 0o600)
    assert.equal(statSync(out).mode & 0o777, 0o700)
    assert.match(readFileSync(join(out, 'audit-seal.key'), 'utf8'), /^-----BEGIN PRIVATE KEY-----/)
    assert.match(readFileSync(join(out, 'audit-seal.pub'), 'utf8'), /^-----BEGIN PUBLIC KEY-----/)
    const before = readFileSync(join(out, 'audit-seal.key'), 'utf8')
    const second = await runAudit(['keygen', '--out', out])
    assert.equal(second.code, 2)
    assert.match(second.stderr, /^audit keygen: error: .*exists; refusing to overwrite/)
    assert.equal(second.stderr.split('\n').length, 2, 'one line, no stack')
    assert.equal(readFileSync(join(out, 'audit-seal.key'), 'utf8'), before)
  })

  it('one-line errors when --out is a file or under one', async () => {
    const file = join(tempDir('keygen-'), 'a-file')
    writeFileSync(file, 'x')
    for (const out of [file, join(file, 'keys')]) {
      const r = await runAudit(['keygen', '--out', out])
      assert.equal(r.code, 2)
      assert.equal(r.stderr, `audit keygen: error: ${out}: not a directory\n`)
    }
  })
})

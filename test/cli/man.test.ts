import assert from 'node:assert/strict'
import {execFileSync, spawnSync} from 'node:child_process'
import {cpSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {ROOT, tempDir} from '../helpers.js'

const MAN = join(ROOT, 'man')
const pages = readdirSync(MAN).filter((f) => f.endsWith('.1'))
const commands = readdirSync(join(ROOT, 'dist', 'commands'))
  .filter((f) => f.endsWith('.js'))
  .map((f) => f.slice(0, -3))
const check = (out: string) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'scripts/build-man.ts', '--check', '--out', out], {cwd: ROOT, encoding: 'utf8'})

describe('man pages', () => {
  it('one page per command and audit.1, each listed in package.json "man" so that npm installs it', () => {
    assert.deepEqual(pages.sort(), ['audit.1', ...commands.map((c) => `audit-${c}.1`)].sort())
    assert.deepEqual(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).man.sort(), pages.map((p) => `./man/${p}`).sort())
  })

  for (const page of pages) {
    it(`${page}: NAME without backticks, EXIT STATUS with 70, ENVIRONMENT, FILES, SEE ALSO; groff -ww is silent`, () => {
      const text = readFileSync(join(MAN, page), 'utf8')
      const name = /\.SH NAME\n(.*)\n/.exec(text)![1]
      assert.doesNotMatch(name, /`/)
      for (const section of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'EXIT STATUS', 'ENVIRONMENT', 'FILES', 'SEE ALSO'])
        assert.match(text, new RegExp(`^\\.SH ${section}$`, 'm'), section)
      assert.match(text, /\.SH EXIT STATUS\n[\s\S]*\.B 70\n/)
      assert.doesNotMatch(text, /repeatable[^\n]*\(repeatable\)/)
      assert.doesNotMatch(text, /`/)
      const groff = spawnSync('groff', ['-ww', '-z', '-man', join(MAN, page)], {encoding: 'utf8'})
      assert.equal(groff.status, 0)
      assert.equal(groff.stderr, '')
    })
  }

  it("each command's exit 1 says what it means there (search never mentions tampering)", () => {
    const search = readFileSync(join(MAN, 'audit-search.1'), 'utf8')
    assert.doesNotMatch(search, /tamper/)
    assert.match(search, /answer is negative \(nothing matched\)/)
    assert.match(readFileSync(join(MAN, 'audit-verify.1'), 'utf8'), /answer is negative \(tampering or damage found\)/)
    assert.doesNotMatch(readFileSync(join(MAN, 'audit-keygen.1'), 'utf8'), /^\.B 1$/m)
  })

  it('the check passes on the built pages and fails, naming the page, when one is stale', () => {
    const fresh = check(MAN)
    assert.equal(fresh.status, 0, fresh.stderr)
    const copy = tempDir('man-')
    cpSync(MAN, copy, {recursive: true})
    writeFileSync(join(copy, 'audit-tail.1'), readFileSync(join(copy, 'audit-tail.1'), 'utf8').replace('follows', 'folows'))
    const stale = check(copy)
    assert.equal(stale.status, 1)
    assert.match(stale.stderr, /stale man pages in .*: audit-tail\.1 /)
  })

  it('man renders a page at 80 columns', () => {
    const text = execFileSync('man', ['-l', join(MAN, 'audit-search.1')], {
      encoding: 'utf8',
      env: {...process.env, MANWIDTH: '80', MANPAGER: 'cat', PAGER: 'cat'},
    })
    assert.match(text, /EXIT STATUS/)
  })
})

import assert from 'node:assert/strict'
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {ROOT, runAudit, tempDir} from '../helpers.js'

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
  commands: Record<string, {flags: Record<string, {char?: string; description?: string; hidden?: boolean}>}>
}
const COMMANDS = readdirSync(join(ROOT, 'dist', 'commands'))
  .filter((f) => f.endsWith('.js'))
  .map((f) => f.slice(0, -3))
const at80 = {env: {OCLIF_COLUMNS: '80'}}

describe('help reads well at 80 columns', () => {
  for (const args of [['--help'], ...COMMANDS.map((c) => [c, '--help'])]) {
    it(`audit ${args.join(' ')}: no line over 80 columns, no ragged half lines in a paragraph`, async () => {
      const r = await runAudit(args, at80)
      assert.equal(r.code, 0, r.stderr)
      for (const line of r.stdout.split('\n')) assert.ok(line.length <= 80, `${line.length} columns: ${line}`)
      const description = /\nDESCRIPTION\n([\s\S]*?)(\n[A-Z][A-Z ]+\n|$)/.exec(r.stdout)?.[1] ?? ''
      assert.notEqual(description.trim(), '')
      // A wrapped paragraph fills its lines: a short line followed by more of the same paragraph
      // is a hard line break in the source, wrapped again.
      for (const paragraph of description.split(/\n\s*\n/)) {
        const lines = paragraph.split('\n').filter((l) => l.trim() !== '')
        for (const [i, line] of lines.slice(0, -1).entries()) {
          const next = lines[i + 1].trim().split(' ')[0]
          assert.ok(line.length + 1 + next.length > 80, `ragged line in audit ${args.join(' ')}: "${line}" / "${lines[i + 1]}"`)
        }
      }
    })
  }

  it("search's synopsis shows only --count excluding the paging flags", async () => {
    const r = await runAudit(['search', '--help'], at80)
    const usage = /USAGE\n([\s\S]*?)\n\n/.exec(r.stdout)![1].replace(/\s+/g, ' ')
    assert.match(usage, /\[-c \| \[-o <format>\] \[-n <value>\] \[--offset <value>\] \[-r\]\]/)
    const both = await runAudit(['search', '--dir', join(ROOT, 'examples', 'logs'), '--limit', '2', '--reverse', '--format', 'jsonl'])
    assert.equal(both.code, 0, both.stderr)
    assert.equal(both.stdout.trim().split('\n').length, 2)
    const refused = await runAudit(['search', '--dir', join(ROOT, 'examples', 'logs'), '--count', '--limit', '2'])
    assert.equal(refused.code, 2)
  })
})

describe('the conventions operators type without thinking', () => {
  it('audit help, audit help COMMAND, audit COMMAND -h show help; audit version and -v the version', async () => {
    for (const args of [['help'], ['help', 'search'], ['search', '-h'], ['log', '-h'], ['verify', '-h']]) {
      const r = await runAudit(args)
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stdout, /USAGE\n\s+\$ audit/, args.join(' '))
    }
    for (const args of [['version'], ['-v'], ['--version']]) {
      const r = await runAudit(args)
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, new RegExp(`^auditkit/${pkg.version.replaceAll('.', '\\.')} `), args.join(' '))
    }
  })

  it('an unknown command: one line, what was probably meant, and where to look', async () => {
    const typo = await runAudit(['serach', '--dir', 'x'])
    assert.equal(typo.code, 2)
    assert.equal(typo.stdout, '')
    assert.equal(typo.stderr, 'audit: error: unknown command "serach"; did you mean search? (see audit --help)\n')
    assert.equal((await runAudit(['sumary'])).stderr, 'audit: error: unknown command "sumary"; did you mean summary? (see audit --help)\n')
    const far = await runAudit(['frobnicate'])
    assert.equal(far.stderr, 'audit: error: unknown command "frobnicate" (see audit --help)\n')
  })

  it('one meaning per short flag across all commands', () => {
    const meaning = new Map<string, string>()
    for (const [id, command] of Object.entries(manifest.commands)) {
      for (const [name, flag] of Object.entries(command.flags)) {
        if (!flag.char || flag.hidden) continue
        const seen = meaning.get(flag.char)
        // -l is the level and -a the actor everywhere, -n a count of entries.
        assert.ok(
          seen === undefined ||
            seen === name ||
            (flag.char === 'n' && ['lines', 'limit'].includes(name) && ['lines', 'limit'].includes(seen)),
          `-${flag.char} is --${seen} elsewhere but --${name} in ${id}`,
        )
        meaning.set(flag.char, seen ?? name)
      }
    }
  })

  it('a flag given twice is refused, the same way in every command', async () => {
    const logs = join(ROOT, 'examples', 'logs')
    for (const args of [
      ['search', '--dir', logs, '--dir', logs],
      ['tail', '--dir', logs, '--dir', logs],
      ['summary', '--dir', logs, '--dir', logs],
      ['verify', '--dir', logs, '--dir', logs],
      ['log', 'a.b', '--dir', logs, '--dir', logs],
      ['search', '--dir', logs, '--limit', '1', '--limit', '2'],
    ]) {
      const r = await runAudit(args)
      const flag = args[args.length - 2]
      assert.equal(r.code, 2, args.join(' '))
      assert.equal(r.stderr, `audit ${args[0]}: error: Flag ${flag} can only be specified once (see audit ${args[0]} --help)\n`)
    }
  })

  it('keygen: no --dir in its help, the public key readable by others (0644), the private one not (0600)', async () => {
    const help = await runAudit(['keygen', '--help'])
    assert.doesNotMatch(help.stdout, /--dir/)
    const out = join(tempDir('keygen-mode-'), 'keys')
    const r = await runAudit(['keygen', '--out', out], {wrapper: ['sh', '-c', 'umask 022; exec "$@"', 'sh']})
    assert.equal(r.code, 0, r.stderr)
    assert.equal(statSync(join(out, 'audit-seal.key')).mode & 0o777, 0o600)
    assert.equal(statSync(join(out, 'audit-seal.pub')).mode & 0o777, 0o644)
  })
})

import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'

import {ROOT, runAudit} from '../helpers.js'

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
/** Every built command, so a new one is covered without editing this file. */
const COMMANDS = readdirSync(join(ROOT, 'dist', 'commands'))
  .filter((f) => f.endsWith('.js'))
  .map((f) => f.slice(0, -3))

test('audit --help lists the commands', async () => {
  const r = await runAudit(['--help'])
  assert.equal(r.code, 0)
  assert.equal(r.stderr, '')
  assert.match(r.stdout, /USAGE\s+\$ audit/)
  for (const command of ['summary', 'search']) assert.match(r.stdout, new RegExp(`^\\s+${command}\\s+\\S`, 'm'), command)
  for (const command of COMMANDS) assert.ok(r.stdout.includes(command), command)
})

test('audit --version prints the package version', async () => {
  const r = await runAudit(['--version'])
  assert.equal(r.code, 0)
  assert.match(r.stdout, new RegExp(`^auditkit/${pkg.version.replaceAll('.', '\\.')} `))
})

for (const command of COMMANDS) {
  test(`audit ${command} --help shows usage, flags and examples`, async () => {
    const r = await runAudit([command, '--help'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, new RegExp(`USAGE\\s+\\$ audit ${command}`))
    assert.match(r.stdout, /EXAMPLES\n\s+\$ audit /)
    // keygen reads no log directory, and completion neither a directory nor a config.
    if (command !== 'completion') assert.match(r.stdout, /--config/)
    if (command !== 'keygen' && command !== 'completion') assert.match(r.stdout, /--dir/)
  })
}

test('summary and search --help document the filter flags and their aliases', async () => {
  for (const command of ['summary', 'search']) {
    const r = await runAudit([command, '--help'])
    for (const flag of ['--since', '--until', '--event', '--level', '--actor', '--where', '--grep', '--local'])
      assert.ok(r.stdout.includes(flag), `${command} ${flag}`)
    assert.match(r.stdout, /alias --from/)
    assert.match(r.stdout, /alias --to/)
  }
})

test('an empty flag value is refused, never taken as the flag not given (--pubkey "$UNSET" would skip signatures)', async () => {
  const cases: string[][] = [
    ['verify', '--dir', 'examples/logs', '--pubkey', ''],
    ['verify', '--dir', ''],
    ['verify', '--dir', 'examples/logs', '--checkpoints', ''],
    ['keygen', '--out', ''],
    ['search', '--dir', 'examples/logs', '--event', ''],
    ['log', 'a.b', '--dir', '', '--detail', 'k=v'],
  ]
  for (const args of cases) {
    const r = await runAudit(args, {cwd: ROOT})
    const flag = args[args.indexOf('') - 1]
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.equal(r.stderr, `audit ${args[0]}: error: ${flag}: empty value\n`)
    assert.equal(r.stdout, '')
  }
})

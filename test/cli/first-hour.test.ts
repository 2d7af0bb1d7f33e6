import assert from 'node:assert/strict'
import {mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {ROOT, runAudit, tempDir} from '../helpers.js'

const logs = join(ROOT, 'examples', 'logs')

describe('a directory without log files is said so, not answered silently', () => {
  it('search, tail and summary name the directory and the expected file names', async () => {
    const dir = tempDir('no-logs-')
    writeFileSync(join(dir, 'app.log'), 'hello\n')
    for (const [command, code] of [
      ['search', 1],
      ['tail', 0],
      ['summary', 1],
    ] as const) {
      const r = await runAudit([command, '--dir', dir])
      assert.equal(r.code, code, `${command}: ${r.stderr}`)
      assert.equal(r.stderr, `audit ${command}: no audit log files in ${dir} (expected audit-YYYY-MM-DD.jsonl)\n`)
    }
  })

  it('the default directory is named as the default, with how to choose another', async () => {
    const state = tempDir('state-')
    const missing = await runAudit(['search'], {env: {XDG_STATE_HOME: state}})
    assert.equal(missing.code, 2)
    assert.equal(
      missing.stderr,
      `audit search: error: ${join(state, 'auditkit', 'logs')}: no such directory (the default log directory: choose another with --dir, AUDIT_DIR or \`dir\` in the config file)\n`,
    )
    mkdirSync(join(state, 'auditkit', 'logs'), {recursive: true})
    const empty = await runAudit(['tail'], {env: {XDG_STATE_HOME: state}})
    assert.equal(empty.code, 0)
    assert.match(
      empty.stderr,
      /^audit tail: no audit log files in .* \(expected audit-YYYY-MM-DD\.jsonl; the default log directory: choose another with --dir, AUDIT_DIR/,
    )
    // A directory someone chose is not called the default.
    const chosen = await runAudit(['tail'], {env: {AUDIT_DIR: join(state, 'auditkit', 'logs')}})
    assert.doesNotMatch(chosen.stderr, /default/)
  })
})

describe('--where', () => {
  it('hints when the path names a member no entry has, such as ip for details.ip', async () => {
    const r = await runAudit(['search', '--dir', logs, '--where', 'ip=10.0.4.17', '--count'])
    assert.equal(r.code, 1)
    assert.equal(r.stdout, '0\n')
    assert.match(r.stderr, /^audit search: hint: --where "ip=10\.0\.4\.17": entries have no member "ip" .*did you mean details\.ip\?\n/)
  })

  it('ignores spaces around the operator', async () => {
    const spaced = await runAudit(['search', '--dir', logs, '--where', 'details.ip = 10.0.4.17', '--count'])
    const tight = await runAudit(['search', '--dir', logs, '--where', 'details.ip=10.0.4.17', '--count'])
    assert.equal(spaced.code, 0, spaced.stderr)
    assert.equal(spaced.stderr, '')
    assert.equal(spaced.stdout, tight.stdout)
    assert.notEqual(tight.stdout, '0\n')
  })
})

describe('audit log below the configured level', () => {
  it('says it was dropped on stderr, and with --json prints an object saying so', async () => {
    const dir = tempDir('dropped-')
    const r = await runAudit(['log', 'app.start', '--dir', dir, '--json'], {env: {AUDIT_LEVEL: 'warning'}})
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout), {
      dropped: true,
      reason: 'level info is below the configured level warning (level, or AUDIT_LEVEL)',
    })
    assert.equal(r.stderr, 'audit log: not written: level info is below the configured level warning (level, or AUDIT_LEVEL)\n')
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.endsWith('.jsonl')),
      [],
    )
    const excluded = await runAudit(['log', 'app.start', '--dir', dir], {env: {AUDIT_DISABLED: '1'}})
    assert.equal(excluded.stderr, 'audit log: not written: writing is disabled (enabled: false, or AUDIT_DISABLED)\n')
  })
})

describe('dir in a config file', () => {
  it("resolves from the file's folder, and an error about it names the file", async () => {
    const folder = tempDir('cfg-dir-')
    const config = join(folder, 'config.yaml')
    writeFileSync(config, 'dir: logs\n')
    const missing = await runAudit(['search', '--config', config])
    assert.equal(missing.code, 2)
    assert.equal(missing.stderr, `audit search: error: ${join(folder, 'logs')}: no such directory (\`dir\` in ${config})\n`)
    mkdirSync(join(folder, 'logs'))
    const empty = await runAudit(['search', '--config', config])
    assert.equal(
      empty.stderr,
      `audit search: no audit log files in ${join(folder, 'logs')} (expected audit-YYYY-MM-DD.jsonl; \`dir\` in ${config})\n`,
    )
  })
})

describe('--where naming a member no entry has', () => {
  it('hints after an empty answer, only for the paths no entry in the range has', async () => {
    const misspelt = await runAudit([
      'search',
      '--dir',
      logs,
      '--where',
      'details.adress=10.0.4.17',
      '--where',
      'details.ip~^10\\.',
      '--count',
    ])
    assert.equal(misspelt.code, 1)
    assert.equal(misspelt.stderr, 'audit search: hint: no entry has details.adress\n')
    const ranged = await runAudit(['search', '--dir', logs, '--since', '2026-11-19', '--where', 'details.model=nonesuch'])
    assert.equal(ranged.code, 1)
    assert.equal(ranged.stderr, '', 'details.model exists: the value is what did not match')
    const inRange = await runAudit(['search', '--dir', logs, '--since', '2030-01-01', '--where', 'details.model=x'])
    assert.equal(inRange.stderr, 'audit search: hint: no entry in the time range has details.model\n')
  })
})

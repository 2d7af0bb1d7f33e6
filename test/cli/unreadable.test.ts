import assert from 'node:assert/strict'
import {chmodSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'

import {chainedLines, runAudit, type SpawnOptions, spawnAudit, tempDir, writeLog} from '../helpers.js'

// A log file this user cannot read makes every answer incomplete, which is neither yes nor no, and is
// no sign of tampering: every command says which file and why, and exits 3. Root reads a mode-000 file
// anyway, so as root the binary runs as nobody (util-linux setpriv), on a directory nobody may read.
const AS_NOBODY = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : []
const WARNING = 'warning: 1 unreadable file, at audit-2026-11-02.jsonl (permission denied, EACCES)\n'

function fixture(): {dir: string; options: SpawnOptions} {
  const dir = tempDir()
  const {lines, head} = chainedLines([
    {timestamp: '2026-11-01T08:00:00.000Z', event: 'auth.login', actor: 'alice'},
    {timestamp: '2026-11-01T09:00:00.000Z', event: 'auth.login', actor: 'bob'},
  ])
  writeLog(dir, 'audit-2026-11-01.jsonl', lines)
  const newest = writeLog(
    dir,
    'audit-2026-11-02.jsonl',
    chainedLines([{timestamp: '2026-11-02T08:00:00.000Z', event: 'auth.login', actor: 'carol'}], head).lines,
  )
  chmodSync(join(dir, 'audit-2026-11-01.jsonl'), 0o644)
  chmodSync(newest, 0o000)
  chmodSync(dir, 0o755)
  // Its own home and cache, which it can write.
  const home = tempDir('home-')
  chmodSync(home, 0o777)
  return {dir, options: {wrapper: AS_NOBODY, cwd: dir, env: {HOME: home, XDG_CACHE_HOME: join(home, 'cache')}}}
}

test('search: exit 3 and a line naming the unreadable file and the errno, the rest still printed (not 0, not 1 "no match")', async () => {
  const {dir, options} = fixture()
  const all = await runAudit(['search', '--dir', dir, '--format', 'jsonl'], options)
  assert.equal(all.code, 3, all.stderr)
  assert.deepEqual(
    all.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).actor),
    ['alice', 'bob'],
  )
  assert.equal(all.stderr, WARNING)
  const none = await runAudit(['search', '--dir', dir, '--actor', 'carol'], options)
  assert.deepEqual([none.code, none.stdout, none.stderr], [3, '', WARNING])
  const count = await runAudit(['search', '--dir', dir, '--count'], options)
  assert.deepEqual([count.code, count.stdout, count.stderr], [3, '2\n', WARNING])
})

test('tail: exit 3 with the same line, the readable entries printed (not exit 2)', async () => {
  const {dir, options} = fixture()
  const r = await runAudit(['tail', '--dir', dir, '-n', '5'], options)
  assert.equal(r.code, 3, r.stderr)
  assert.match(r.stdout, /alice\n.*bob\n$/)
  assert.equal(r.stderr, WARNING)
})

test('tail -f: reports the unreadable newest file once, keeps following, exits 3 when stopped', async () => {
  const {dir, options} = fixture()
  const child = spawnAudit(['tail', '-f', '--dir', dir, '-n', '5'], options)
  child.stdin.end()
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
  })
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
  })
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
  const deadline = Date.now() + 20_000
  while (!stdout.includes('bob') && Date.now() < deadline) await sleep(20)
  await sleep(600) // a few polls: a busy retry would report it again
  child.kill('SIGTERM')
  assert.equal(await exited, 3, stderr)
  assert.match(stdout, /alice\n.*bob\n$/)
  assert.equal(stderr, WARNING)
})

test('summary: exit 3 with the same line, the report made from what could be read (not exit 2)', async () => {
  const {dir, options} = fixture()
  for (const cache of [[], ['--no-cache']]) {
    const r = await runAudit(['summary', '--dir', dir, '--all', '--json', ...cache], options)
    assert.equal(r.code, 3, r.stderr)
    assert.equal(JSON.parse(r.stdout).total, 2)
    assert.equal(r.stderr, WARNING)
  }
  // The default range, the log's last 24 hours, is found without the newest file: said so too.
  const r = await runAudit(['summary', '--dir', dir, '--json'], options)
  assert.equal(r.code, 3, r.stderr)
  assert.equal(JSON.parse(r.stdout).total, 2)
  assert.equal(r.stderr, WARNING)
})

test('verify: a file it cannot read is not tampering: exit 3 naming the file and the errno, no INVALID', async () => {
  const {dir, options} = fixture()
  const r = await runAudit(['verify', '--dir', dir], options)
  assert.equal(r.code, 3, r.stdout + r.stderr)
  assert.equal(
    r.stderr,
    `audit verify: error: ${join(dir, 'audit-2026-11-02.jsonl')}: permission denied, EACCES; it could not be checked\n`,
  )
  assert.doesNotMatch(r.stdout, /INVALID/)
})
